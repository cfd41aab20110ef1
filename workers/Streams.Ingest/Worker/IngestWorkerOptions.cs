using System.ComponentModel.DataAnnotations;

namespace Streams.Ingest.Worker;

/// <summary>How the ingest worker batches its work (section <c>Ingest</c>, beside <see cref="IngestOptions"/>).</summary>
public sealed class IngestWorkerOptions
{
    /// <summary>Consumer group of the ingest workers (default <c>streams-ingest</c>).</summary>
    [Required] public string GroupId { get; set; } = "streams-ingest";

    /// <summary>Most input records handled per batch, that is per checkpoint (default 2000).</summary>
    [Range(1, 100_000)] public int BatchSize { get; set; } = 2000;

    /// <summary>Longest a batch waits to fill up before it is handled anyway (default 200 ms).</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:01:00")] public TimeSpan MaxBatchWait { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>How often the summary line is logged (default 30 s).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")] public TimeSpan SummaryInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>First wait after a failure (PostgreSQL or Kafka away); doubles up to <see cref="MaxRetryDelay"/>.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")] public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Longest wait between attempts after failures (default 30 s).</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "01:00:00")] public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(30);
}
