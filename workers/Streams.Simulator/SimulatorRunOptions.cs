using Microsoft.Extensions.Options;

namespace Streams.Simulator;

/// <summary>
/// How the simulator runs against Kafka (section <c>Simulator</c>, beside the <see cref="SimulatorOptions"/> of what
/// it generates).
/// </summary>
public sealed class SimulatorRunOptions
{
    public const string Section = "Simulator";

    /// <summary>Whether the host runs the simulator; unset means on with the embedded broker, off with a real one.</summary>
    public bool? Enabled { get; set; }

    /// <summary>Waves of new customers to send; 0 (default) keeps sending waves until the host stops.</summary>
    public int Waves { get; set; }

    /// <summary>Most records per second; 0 (default) is as fast as ingest keeps up.</summary>
    public double EventsPerSecond { get; set; }

    /// <summary>
    /// Most bytes of simulated records on one input partition that ingest has not committed yet (default 2 MiB, well
    /// under the ~5 MiB per partition the embedded broker keeps).
    /// </summary>
    public long MaxBytesAhead { get; set; } = 2 * 1024 * 1024;

    /// <summary>
    /// Most records the later stages (profiles on the canonical topic, segmentation on <c>profiles</c>) may be behind
    /// on one partition before the simulator waits for them too; 0 turns this off (default 2000).
    /// </summary>
    public long MaxDownstreamLag { get; set; } = 2000;

    /// <summary>How often ingest's committed offsets are read while the simulator waits for it (default 100 ms).</summary>
    public TimeSpan LagPollInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// How long ingest may make no progress while the simulator waits: the worker logs a warning each time, the
    /// <c>simulate</c> command gives up (default 60 s).
    /// </summary>
    public TimeSpan StallTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Where a finite run writes its ground truth; unset is <c>&lt;state dir&gt;/ground-truth.json</c>.</summary>
    public string? GroundTruth { get; set; }

    /// <summary>True when the simulator runs: <see cref="Enabled"/>, or by default when the broker is the embedded one.</summary>
    public bool IsEnabled(bool embeddedBroker) => Enabled ?? embeddedBroker;

    /// <summary>The ground truth's path under <paramref name="stateDirectory"/> unless one is configured.</summary>
    public string GroundTruthPath(string stateDirectory) =>
        Path.GetFullPath(string.IsNullOrWhiteSpace(GroundTruth) ? Path.Combine(stateDirectory, "ground-truth.json") : GroundTruth);
}

/// <summary>Checks both halves of the <c>Simulator</c> section and names the key that is wrong.</summary>
internal sealed class SimulatorOptionsValidator : IValidateOptions<SimulatorRunOptions>, IValidateOptions<SimulatorOptions>
{
    public ValidateOptionsResult Validate(string? name, SimulatorRunOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        Check(options.Waves >= 0, "Waves", "0 (until stopped) or more");
        Check(double.IsFinite(options.EventsPerSecond) && options.EventsPerSecond >= 0, "EventsPerSecond", "0 (no limit) or a positive number");
        Check(options.MaxBytesAhead is >= 1024 and <= 1L << 40, "MaxBytesAhead", "1024 bytes to 1 TiB");
        Check(options.MaxDownstreamLag >= 0, "MaxDownstreamLag", "0 (off) or more");
        Check(options.LagPollInterval >= TimeSpan.FromMilliseconds(1) && options.LagPollInterval <= TimeSpan.FromMinutes(1), "LagPollInterval",
            "1 ms to 1 minute");
        Check(options.StallTimeout >= TimeSpan.FromSeconds(1), "StallTimeout", "at least 1 second");
        Check(options.GroundTruth is null || options.GroundTruth.IndexOfAny(Path.GetInvalidPathChars()) < 0, "GroundTruth", "a file path");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);

        void Check(bool ok, string key, string what)
        {
            if (!ok)
            {
                failures.Add($"{SimulatorRunOptions.Section}:{key} must be {what}.");
            }
        }
    }

    public ValidateOptionsResult Validate(string? name, SimulatorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var probe = options.Clone();
        // The clock is set per wave when the simulator runs; any instant checks the rest.
        probe.Now = DateTimeOffset.UnixEpoch;
        try
        {
            probe.Validate();
            return ValidateOptionsResult.Success;
        }
        catch (ArgumentException e)
        {
            return ValidateOptionsResult.Fail(e.Message.Replace("SimulatorOptions.", SimulatorRunOptions.Section + ":", StringComparison.Ordinal));
        }
    }
}
