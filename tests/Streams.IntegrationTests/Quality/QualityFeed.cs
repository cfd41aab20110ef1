using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using Streams.Contracts;
using Streams.Contracts.Outputs;
using Streams.Contracts.Topics;
using Streams.Ingest;
using Streams.Ingest.Worker;

namespace Streams.IntegrationTests.Quality;

/// <summary>
/// Writes what ingest writes for an input record (a canonical record with its source headers, a quarantine record, or
/// both for a flagged one) at a chosen time, and keeps the figures the quality worker should find.
/// </summary>
internal sealed class QualityFeed(string bootstrap, TopicCatalog catalog) : IDisposable
{
    private readonly IProducer<byte[], byte[]> producer =
        new ProducerBuilder<byte[], byte[]>(new ProducerConfig { BootstrapServers = bootstrap, LingerMs = 2, EnableIdempotence = true }).Build();

    private long offset;

    /// <summary>Expected inputs, quarantined, flagged and reasons per (topic, window start).</summary>
    public Dictionary<(string Topic, DateTimeOffset Minute), (long Inputs, long Quarantined, long Flagged, Dictionary<string, long> Reasons)> Expected { get; } = [];

    public int Produced { get; private set; }

    public void Accepted(string topic, DateTimeOffset at)
    {
        Canonical(topic, at);
        Count(topic, at, inputs: 1, quarantined: 0, flagged: 0, []);
    }

    public void Quarantined(string topic, DateTimeOffset at, params string[] codes)
    {
        Quarantine(topic, at, "quarantined", codes);
        Count(topic, at, inputs: 1, quarantined: 1, flagged: 0, codes);
    }

    public void Flagged(string topic, DateTimeOffset at, params string[] codes)
    {
        Canonical(topic, at);
        Quarantine(topic, at, "flagged", codes);
        Count(topic, at, inputs: 1, quarantined: 0, flagged: 1, codes);
    }

    public void Flush() => producer.Flush(TimeSpan.FromSeconds(30));

    public void Dispose() => producer.Dispose();

    private void Canonical(string topic, DateTimeOffset at)
    {
        var source = new SourcePosition(topic, 0, offset++);
        Send(catalog.Names.Canonical, Encoding.UTF8.GetBytes("k1:" + offset), "{\"event_id\":\"e\"}"u8.ToArray(), at,
            OutputHeaders.For(source, OutputHeaders.KindEvent));
    }

    private void Quarantine(string topic, DateTimeOffset at, string disposition, string[] codes)
    {
        var source = new SourcePosition(topic, 0, offset++);
        var value = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object?>
        {
            ["source"] = new Dictionary<string, object> { ["topic"] = topic, ["partition"] = 0, ["offset"] = source.Offset },
            ["event_id"] = "e" + source.Offset,
            ["disposition"] = disposition,
            ["reasons"] = codes.Select(c => new Dictionary<string, string> { ["code"] = c, ["field"] = "f", ["detail"] = "d" }).ToArray(),
            ["record"] = new Dictionary<string, string> { ["email"] = "j***@example" },
            ["raw_sha256"] = new string('0', 64),
            ["raw_bytes"] = 10,
            ["quarantined_at"] = at.ToString("O"),
        });
        Send(TopicsOptions.QuarantineOf(topic), Encoding.UTF8.GetBytes("e" + source.Offset), value, at,
            OutputHeaders.For(source, OutputHeaders.KindQuarantine));
    }

    private void Send(string topic, byte[] key, byte[] value, DateTimeOffset at, Headers headers)
    {
        producer.Produce(topic, new Message<byte[], byte[]> { Key = key, Value = value, Headers = headers, Timestamp = new Timestamp(at) });
        Produced++;
    }

    private void Count(string topic, DateTimeOffset at, long inputs, long quarantined, long flagged, string[] codes)
    {
        var minute = new DateTimeOffset(at.Year, at.Month, at.Day, at.Hour, at.Minute, 0, TimeSpan.Zero);
        var (i, q, f, reasons) = Expected.GetValueOrDefault((topic, minute), (0, 0, 0, new Dictionary<string, long>()));
        foreach (var code in codes.Distinct())
        {
            reasons[code] = reasons.GetValueOrDefault(code) + 1;
        }

        Expected[(topic, minute)] = (i + inputs, q + quarantined, f + flagged, reasons);
    }
}
