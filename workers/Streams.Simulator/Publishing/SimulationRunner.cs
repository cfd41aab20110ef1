using Microsoft.Extensions.Logging;

namespace Streams.Simulator.Publishing;

/// <summary>
/// Waves of new customers, one after the other: wave w uses seed <c>Seed + w</c>, the next customer ids and the clock
/// at its start, so identifiers and event ids never repeat within a run. A finite run collects the ground truth.
/// </summary>
public sealed class SimulationRunner(SimulatorOptions generator, TimeProvider time, ILogger logger)
{
    /// <summary>
    /// Generates <paramref name="waves"/> waves (0: until <paramref name="cancellationToken"/> is cancelled) and hands
    /// every record to <paramref name="publish"/> in order. Returns the ground truth of a finite run, else null.
    /// </summary>
    public GroundTruth? Run(Action<SimulatedRecord> publish, int waves, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(publish);
        var truths = new List<GroundTruth>();
        var run = generator.Run;
        var first = generator.FirstCustomerId;
        for (var wave = 0; waves == 0 || wave < waves; wave++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if ((long)first + generator.Customers - 1 > SimulatorOptions.MaxCustomerId)
            {
                // Customer ids are used up (phone numbers have seven digits for them): carry on as the next run.
                run = (run % SimulatorOptions.MaxRun) + 1;
                first = 1;
            }

            var options = generator.Clone();
            options.Seed = unchecked(generator.Seed + wave);
            options.Run = run;
            options.FirstCustomerId = first;
            options.Now = time.GetUtcNow();
            var simulator = new TrafficSimulator(options);
            var truth = waves > 0 ? new GroundTruthBuilder(simulator) : null;
            var records = 0L;
            foreach (var record in simulator.Generate())
            {
                cancellationToken.ThrowIfCancellationRequested();
                publish(record);
                truth?.Observe(record);
                records++;
            }

            if (truth is not null)
            {
                truths.Add(truth.Build());
            }

            logger.LogInformation("Simulator wave {Wave} sent: {Records} records for customers {First}–{Last} of run {Run}",
                wave + 1, records, first, first + options.Customers - 1, run);
            first += options.Customers;
        }

        return truths.Count > 0 ? GroundTruth.Combine(truths) : null;
    }
}
