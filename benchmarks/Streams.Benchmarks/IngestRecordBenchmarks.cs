using System.Buffers;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Streams.Contracts;
using Streams.Contracts.Canonical;
using Streams.Contracts.Quarantine;
using Streams.Ingest;

namespace Streams.Benchmarks;

/// <summary>
/// The whole per-record path of ingest, per input type: parse, validate, normalize, pseudonymize, and serialize every
/// output, over <see cref="SampleRecords.Count"/> varied valid records. Results are per record
/// (<c>OperationsPerInvoke</c>). The baseline is a floor for any JSON-in, JSON-out step over the same bytes:
/// parse into a <see cref="JsonDocument"/> and write it back. On a shared, noisy machine the ratio to it is steadier
/// than the absolute time.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class IngestRecordBenchmarks
{
    private static readonly SourcePosition Source = new("bench", 0, 0);

    private readonly ArrayBufferWriter<byte> copy = new(4096);
    private Utf8JsonWriter writer = null!;
    private IngestPipeline pipeline = null!;
    private byte[][] records = [];

    [ParamsAllValues]
    public Channel Channel { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        pipeline = SampleRecords.Pipeline();
        records = SampleRecords.Create(Channel);
        writer = new Utf8JsonWriter(copy);

        // A benchmark of the quarantine path by mistake would measure the wrong thing.
        foreach (var record in records)
        {
            var outcome = pipeline.Process(Channel, Source, record);
            if (outcome.Disposition != IngestDisposition.Accepted)
            {
                throw new InvalidOperationException(
                    $"Sample {System.Text.Encoding.UTF8.GetString(record)} was {outcome.Disposition}: {string.Join(", ", outcome.ReasonCodes)}");
            }
        }
    }

    [GlobalCleanup]
    public void Cleanup() => writer.Dispose();

    [Benchmark(Baseline = true, OperationsPerInvoke = SampleRecords.Count, Description = "Parse+copy (floor)")]
    public long ParseAndCopy()
    {
        long bytes = 0;
        foreach (var record in records)
        {
            copy.ResetWrittenCount();
            writer.Reset(copy);
            using var document = JsonDocument.Parse(record);
            document.RootElement.WriteTo(writer);
            writer.Flush();
            bytes += copy.WrittenCount;
        }

        return bytes;
    }

    [Benchmark(OperationsPerInvoke = SampleRecords.Count, Description = "Process+Serialize")]
    public long ProcessAndSerialize()
    {
        long bytes = 0;
        foreach (var record in records)
        {
            var outcome = pipeline.Process(Channel, Source, record);
            // An event's bytes are written as its record is judged (IngestOutcome.CanonicalValue).
            if (outcome.CanonicalValue is not null)
            {
                bytes += outcome.CanonicalValue.Length;
            }

            if (outcome.Consent is not null)
            {
                bytes += CanonicalJson.Serialize(outcome.Consent).Length;
            }

            if (outcome.Quarantine is not null)
            {
                bytes += QuarantineJson.Serialize(outcome.Quarantine).Length;
            }
        }

        return bytes;
    }
}
