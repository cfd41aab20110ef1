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
/// goes: the parse ingest does before any rule runs, the judgement (which writes a canonical event's bytes as it
/// ends), and the writer's serialization of events and commands as objects (read back from those bytes).
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
    private CanonicalEvent?[] events = [];
    private ConsentCommand?[] commands = [];

    [ParamsAllValues]
    public Channel Channel { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        pipeline = SampleRecords.Pipeline();
        records = SampleRecords.Create(Channel);
        var outcomes = Array.ConvertAll(records, r => pipeline.Process(Channel, Source, r));
        events = Array.ConvertAll(outcomes, o => o.Event);
        commands = Array.ConvertAll(outcomes, o => o.Consent);
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

    /// <summary>The judgement, the canonical event's bytes included (written from its parts as judging ends).</summary>
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

    /// <summary>The writer over an event's objects (<see cref="CanonicalJson.Serialize(CanonicalEvent)"/>), as the profiles worker writes lineage.</summary>
    [Benchmark(OperationsPerInvoke = SampleRecords.Count, Description = "Serialize only")]
    public long Serialize()
    {
        long bytes = 0;
        for (var i = 0; i < events.Length; i++)
        {
            bytes += events[i] is { } e ? CanonicalJson.Serialize(e).Length : 0;
            bytes += commands[i] is { } c ? CanonicalJson.Serialize(c).Length : 0;
        }

        return bytes;
    }

    /// <summary>The same outputs through the source-generated serializer the hand-written writer replaced (the bytes are equal).</summary>
    [Benchmark(OperationsPerInvoke = SampleRecords.Count, Description = "Serialize (serializer)")]
    public long SerializeWithSerializer()
    {
        long bytes = 0;
        for (var i = 0; i < events.Length; i++)
        {
            bytes += events[i] is { } e ? JsonSerializer.SerializeToUtf8Bytes(e, CanonicalJsonContext.Default.CanonicalEvent).Length : 0;
            bytes += commands[i] is { } c ? JsonSerializer.SerializeToUtf8Bytes(c, CanonicalJsonContext.Default.ConsentCommand).Length : 0;
        }

        return bytes;
    }
}
