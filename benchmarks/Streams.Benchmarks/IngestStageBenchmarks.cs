using System.Text.Json;
using System.Text.Unicode;
using BenchmarkDotNet.Attributes;
using Streams.Contracts;
using Streams.Contracts.Canonical;
using Streams.Ingest;
using Streams.Ingest.Validation;

namespace Streams.Benchmarks;

/// <summary>
/// The stages of <see cref="IngestRecordBenchmarks"/> apart, per record over the same samples, to show where the time
/// goes: the parse ingest does before any rule runs, the judgement without output, and the serialization of outputs
/// already judged.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class IngestStageBenchmarks
{
    private static readonly SourcePosition Source = new("bench", 0, 0);

    /// <summary>The options <see cref="IngestPipeline"/> parses with: the duplicate-field check costs time.</summary>
    private static readonly JsonDocumentOptions DocumentOptions = new()
    {
        MaxDepth = IngestPipeline.MaxDepth,
        AllowDuplicateProperties = false,
    };

    private IngestPipeline pipeline = null!;
    private byte[][] records = [];
    private IngestOutcome[] outcomes = [];

    [ParamsAllValues]
    public Channel Channel { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        pipeline = SampleRecords.Pipeline();
        records = SampleRecords.Create(Channel);
        outcomes = Array.ConvertAll(records, r => pipeline.Process(Channel, Source, r));
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = SampleRecords.Count, Description = "UTF-8 check + parse")]
    public int Parse()
    {
        var properties = 0;
        foreach (var record in records)
        {
            if (!Utf8.IsValid(record))
            {
                continue;
            }

            using var document = JsonDocument.Parse(record, DocumentOptions);
            properties += document.RootElement.GetPropertyCount();
        }

        return properties;
    }

    /// <summary>
    /// The one pass that finds every known field of a record of the usual shape and checks it is well-formed JSON
    /// without duplicates, in place of the parse: the first part of <see cref="Process"/>.
    /// </summary>
    [Benchmark(OperationsPerInvoke = SampleRecords.Count, Description = "Index only")]
    public int Index()
    {
        var indexed = 0;
        var table = FieldTable.For(Channel);
        foreach (var record in records)
        {
            indexed += FieldIndex.TryIndexRecord(record, table) ? 1 : 0;
            FieldIndex.ClearThread();
        }

        return indexed;
    }

    [Benchmark(OperationsPerInvoke = SampleRecords.Count, Description = "Process only")]
    public int Process()
    {
        var accepted = 0;
        foreach (var record in records)
        {
            accepted += pipeline.Process(Channel, Source, record).Disposition == IngestDisposition.Accepted ? 1 : 0;
        }

        return accepted;
    }

    [Benchmark(OperationsPerInvoke = SampleRecords.Count, Description = "Serialize only")]
    public long Serialize()
    {
        long bytes = 0;
        foreach (var outcome in outcomes)
        {
            bytes += outcome.Event is not null ? CanonicalJson.Serialize(outcome.Event).Length : 0;
            bytes += outcome.Consent is not null ? CanonicalJson.Serialize(outcome.Consent).Length : 0;
        }

        return bytes;
    }

    /// <summary>The same outputs through the source-generated serializer the hand-written writer replaced (the bytes are equal).</summary>
    [Benchmark(OperationsPerInvoke = SampleRecords.Count, Description = "Serialize (serializer)")]
    public long SerializeWithSerializer()
    {
        long bytes = 0;
        foreach (var outcome in outcomes)
        {
            bytes += outcome.Event is not null ? JsonSerializer.SerializeToUtf8Bytes(outcome.Event, CanonicalJsonContext.Default.CanonicalEvent).Length : 0;
            bytes += outcome.Consent is not null ? JsonSerializer.SerializeToUtf8Bytes(outcome.Consent, CanonicalJsonContext.Default.ConsentCommand).Length : 0;
        }

        return bytes;
    }
}
