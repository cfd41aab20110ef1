using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Streams.Contracts.Topics;
using Streams.Infrastructure.Hosting;

namespace Streams.Simulator.Publishing;

/// <summary>
/// Keeps simulated traffic flowing into the host's input topics: waves of new customers until the host stops, or a
/// finite run (<see cref="SimulatorRunOptions.Waves"/>) whose ground truth is written when it completes. Ctrl-C stops
/// it between two records and flushes what was sent.
/// </summary>
public sealed class SimulatorWorker(
    StreamsEnvironment environment,
    TopicCatalog catalog,
    IOptions<SimulatorOptions> generatorOptions,
    IOptions<SimulatorRunOptions> runOptions,
    IOptions<KafkaOptions> kafkaOptions,
    IConfiguration configuration,
    SimulatorMetrics metrics,
    TimeProvider timeProvider,
    ILogger<SimulatorWorker> logger) : BackgroundService
{
    private readonly SimulatorRunOptions options = runOptions.Value;

    /// <summary>The ground truth of a finite run once it is written.</summary>
    public GroundTruth? Truth { get; private set; }

    /// <summary>Where the ground truth of a finite run goes.</summary>
    public string GroundTruthPath => options.GroundTruthPath(environment.StateDirectory);

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.IsEnabled(kafkaOptions.Value.UseEmbedded))
        {
            logger.LogDebug("Simulator off (Simulator:Enabled)");
            return Task.CompletedTask;
        }

        // Producing and pacing block; they get a thread of their own rather than a thread-pool thread.
        return Task.Factory.StartNew(() => Run(stoppingToken), stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    private void Run(CancellationToken stoppingToken)
    {
        var generator = generatorOptions.Value.Clone();
        if (generator.Run == 0)
        {
            generator.Run = Random.Shared.Next(1, SimulatorOptions.MaxRun + 1);
        }

        logger.LogInformation("Simulator on: run {Run}, {Customers} customers per wave, {Waves}, at most {Rate} records/s, {Bytes} bytes ahead of ingest",
            generator.Run, generator.Customers, options.Waves == 0 ? "waves until stopped" : $"{options.Waves} wave(s)",
            options.EventsPerSecond == 0 ? "unlimited" : options.EventsPerSecond, options.MaxBytesAhead);
        var clock = Stopwatch.StartNew();
        using var publisher = new SimulatorPublisher(environment.BootstrapServers, catalog, IngestGroupId(configuration), options,
            generator.MaxRecordBytes, failOnStall: false, DownstreamStages(configuration, catalog), metrics, timeProvider, logger);
        GroundTruth? truth = null;
        try
        {
            truth = new SimulationRunner(generator, timeProvider, logger).Run(r => publisher.Publish(r, stoppingToken), options.Waves, stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopped between two records.
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The simulator is a guest of the host: its failure stops the traffic, never the pipeline.
            logger.LogError("Simulator stopped: {Error}", e.Message);
        }
        finally
        {
            if (!publisher.Flush(TimeSpan.FromSeconds(10)))
            {
                logger.LogWarning("Simulator: some records were still unacknowledged when it stopped");
            }
        }

        if (truth is null)
        {
            return;
        }

        var path = GroundTruthPath;
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            GroundTruthWriter.WriteAsync(truth, path, CancellationToken.None).GetAwaiter().GetResult();
            Truth = truth;
            logger.LogInformation("{Summary}", SimulatorSummary.Describe(truth, publisher.Delivered, publisher.Failed, clock.Elapsed, path));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            logger.LogError("Simulator could not write its ground truth to {Path}: {Error}", path, e.Message);
        }
    }

    /// <summary>The later stages this host runs (<c>Streams:Workers</c>), whose lag paces the simulator as well.</summary>
    public static IReadOnlyList<DownstreamStage> DownstreamStages(IConfiguration configuration, TopicCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(catalog);
        var workers = new StreamsOptions { Workers = configuration["Streams:Workers"] is { Length: > 0 } w ? w : "all" };
        var stages = new List<DownstreamStage>();
        if (workers.Runs("profiles"))
        {
            stages.Add(new DownstreamStage(configuration["Profiles:GroupId"] is { Length: > 0 } p ? p : "streams-profiles", [catalog.Names.Canonical]));
        }

        if (workers.Runs("segmentation"))
        {
            stages.Add(new DownstreamStage(configuration["Segmentation:GroupId"] is { Length: > 0 } s ? s : "streams-segmentation", [catalog.Names.Profiles]));
        }

        return stages;
    }

    /// <summary><c>Ingest:GroupId</c>, whose lag paces the simulator.</summary>
    public static string IngestGroupId(IConfiguration configuration) =>
        configuration["Ingest:GroupId"] is { Length: > 0 } group ? group : "streams-ingest";
}
