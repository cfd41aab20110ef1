using System.Buffers;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Streams.Contracts;
using Streams.Contracts.Outputs;
using Streams.Contracts.Quarantine;
using Streams.IntegrationTests.Fixtures;
using Streams.Ingest;
using Streams.Ingest.Pseudonymization;
using QuarantineReason = Streams.Quality.Stewardship.QuarantineReason;
using Streams.Ingest.Worker;
using Streams.Quality.Stewardship;

namespace Streams.IntegrationTests.Stewardship;

/// <summary>
/// The quarantine index worker in the real host against whatever a hostile producer, or ingest itself, can put on a
/// quarantine topic: each probe is followed by a normal quarantine record that must be indexed, so a worker that stopped
/// or retries one batch for ever is seen at the probe that did it.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed class QuarantineIndexHostileTests(KafkaFixture kafka, PostgresFixture postgres)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private const string Email = "grace.hostile@example.org";
    private const string Phone = "+44 20 7946 0321";
    private const string Name = "Grace Hostilewoman";
    private const string Masked = "{\"currency\":\"ZZZ\"}";

    private const long ForgedOffsets = 1_000_000;

    [Fact]
    public async Task HostileQuarantineRecords_EachFollowedByANormalOne_AreIndexedOrSkipped_AndTheIndexGoesOn_WithoutRawValues()
    {
        // Four partitions: the embedded broker keeps 5 MiB per partition, and the probes hold several records near 1 MB.
        var topics = await TestTopics.CreateAsync(kafka, partitions: 4);
        await using var host = await InProcessHost.StartAsync(kafka, postgres, topics, builder => Index(builder, TimeSpan.FromMilliseconds(50)),
            "--only", "ingest");
        var store = topics.Names.Store;
        var sealer = host.Get<Pseudonymizer>();
        var stewardship = host.Get<IStewardship>();

        // Ingest itself: an event id holding U+0000 is valid on an event, and its second copy is quarantined as a duplicate.
        using (var feed = new InputFeed(kafka.BootstrapServers))
        {
            feed.Send([(store, SampleEvents.Store("nul\u0000-id", email: Email)), (store, SampleEvents.Store("nul\u0000-id", email: Email))]);
        }

        var duplicate = await Eventually.UntilAsync(() => stewardship.BrowseAsync(new QuarantineQuery(store, "duplicate_event"), default),
            p => p.Total == 1, Patience);
        // Kept as ingest's de-duplication keeps it, so a replay of it is matched with its claim there.
        Assert.Equal("nul\uFFFF0-id", duplicate.Entries[0].EventId);

        // Sealed as ingest seals (a producer that copies the headers of a record ingest wrote can do the same), with any value.
        var offset = 0L;
        (string Name, Headers Headers, byte[]? Key, byte[]? Value) Forged(string name, string value) =>
            (name, Sealed(offset++), null, Encoding.UTF8.GetBytes(value));
        var normalValue = Encoding.UTF8.GetBytes(Quarantine("\"e-1\""));
        (string, Headers, byte[]?, byte[]?)[] probes =
        [
            Forged("U+0000 in the event id", Quarantine("\"x\\u0000y\"")),
            Forged("U+0000 in a reason", Quarantine("\"e-1\"", reasons: "[{\"code\":\"unknown_currency\",\"field\":\"f\\u0000\",\"detail\":\"d\\u0000\"}]")),
            Forged("U+0000 in the masked copy", Quarantine("\"e-1\"", record: "{\"event_id\":\"x\\u0000\",\"store_id\":\"\\u0000\",\"sku\":\"\\udc00\"}")),
            Forged("a lone surrogate in the event id", Quarantine("\"x\\ud800\"")),
            Forged("a lone surrogate in a reason", Quarantine("\"e-1\"", reasons: "[{\"code\":\"unknown_currency\",\"field\":null,\"detail\":\"\\udfff\"}]")),
            Forged("a null reason", Quarantine("\"e-1\"", reasons: "[null]")),
            Forged("a reason of nulls", Quarantine("\"e-1\"", reasons: "[{\"code\":null,\"field\":null,\"detail\":null}]")),
            Forged("a 9 KB reason code", Quarantine("\"e-1\"", reasons: "[{\"code\":\"" + Incompressible(9_000) + "\",\"field\":null,\"detail\":\"\"}]")),
            Forged("no reasons", Quarantine("\"e-1\"", reasons: "[]")),
            Forged("reasons not a list", Quarantine("\"e-1\"", reasons: "{}")),
            Forged("null reasons", Quarantine("\"e-1\"", reasons: "null")),
            Forged("a time with an offset", Quarantine("\"e-1\"", at: "2026-12-04T13:00:00+01:00")),
            Forged("the first instant", Quarantine("\"e-1\"", at: "0001-01-01T00:00:00Z")),
            Forged("the last instant", Quarantine("\"e-1\"", at: "9999-12-31T23:59:59.9999999Z")),
            Forged("a time that is not one", Quarantine("\"e-1\"", at: "yesterday")),
            Forged("an unknown disposition", Quarantine("\"e-1\"", disposition: "\"bogus\"")),
            Forged("a 900 KB event id", Quarantine("\"" + Incompressible(900_000) + "\"")),
            Forged("a 900 KB reason field", Quarantine("\"e-1\"", reasons: "[{\"code\":\"out_of_range\",\"field\":\"" + Incompressible(900_000) + "\",\"detail\":\"\"}]")),
            Forged("a 900 KB masked copy", Quarantine("\"e-1\"", record: "{\"sku\":\"" + Incompressible(900_000) + "\"}")),
            Forged("12,000 reasons", Quarantine("\"e-1\"", reasons: "[" + string.Join(',', Enumerable.Repeat(
                "{\"code\":\"out_of_range\",\"field\":\"items[0].quantity\",\"detail\":\"x\"}", 12_000)) + "]")),
            Forged("a masked copy nested 2,000 deep", Quarantine("\"e-1\"", record: new string('[', 2_000) + new string(']', 2_000))),
            Forged("a masked copy that is personal text", Quarantine("\"e-1\"", record: "\"" + Email + "\"")),
            Forged("an input event", SampleEvents.Store("not-a-quarantine-record", email: Email)),
            Forged("a list", "[]"),
            Forged("null", "null"),
            Forged("a string", "\"text\""),
            Forged("an empty object", "{}"),
            Forged("an object without reasons", "{\"event_id\":\"e-1\"}"),
            Forged("10,000 open braces", new string('{', 10_000)),
            ("invalid UTF-8", Sealed(offset++), null, [.. Encoding.UTF8.GetBytes(Quarantine("\"e-")), 0xff, 0xfe, .. Encoding.UTF8.GetBytes("1\"")]),
            ("a tombstone", Sealed(offset++), null, null),
            ("an empty value", Sealed(offset++), null, []),
            ("personal data in its key and headers", With(Sealed(offset++), ("email", Email), ("name", Name), ("phone", Phone)),
                Encoding.UTF8.GetBytes(Email), normalValue),
            ("a 900 KB key", Sealed(offset++), Encoding.UTF8.GetBytes(Incompressible(900_000)), normalValue),
            ("10,000 headers", With(Sealed(offset++), [.. Enumerable.Range(0, 10_000).Select(h => ($"h{h}", (string?)Email))]), null, normalValue),
            ("a 900 KB source header", With([], (OutputHeaders.Source, Incompressible(900_000)), (OutputHeaders.Kind, "quarantine")), null, normalValue),
            ("a 900 KB kind header", With(OutputHeaders.For(SealedAt(offset++), "event"), (OutputHeaders.Kind, Incompressible(900_000))), null, normalValue),
            ("a 900 KB seal", With(OutputHeaders.For(SealedAt(offset++), OutputHeaders.KindQuarantine), (OutputHeaders.Seal, Incompressible(900_000))),
                null, normalValue),
            ("not sealed, personal data in its value", OutputHeaders.For(SealedAt(offset++), OutputHeaders.KindQuarantine), null,
                Encoding.UTF8.GetBytes(SampleEvents.Store("e-pii", email: Email, phone: Phone, customerName: Name))),
            ("a source on another topic", OutputHeaders.For(new SourcePosition(topics.Names.Social, 0, 1), OutputHeaders.KindQuarantine, sealer), null,
                normalValue),
            ("a source that is not a position", With([], (OutputHeaders.Source, $"{store}/\u0000/1"), (OutputHeaders.Kind, "quarantine")), null, normalValue),
            ("headers without values", With([], (OutputHeaders.Source, null), (OutputHeaders.Kind, null), (OutputHeaders.Seal, null)), null, normalValue),
        ];

        // Each probe and a normal record after it on the same partition, all at once: a probe that stops the index, or
        // makes it retry a batch for ever, leaves the normal records after it unindexed.
        var normals = new List<(SourcePosition Normal, string After)>();
        using (var producer = new ProducerBuilder<byte[]?, byte[]?>(new ProducerConfig { BootstrapServers = kafka.BootstrapServers, LingerMs = 5 }).Build())
        {
            for (var i = 0; i < probes.Length; i++)
            {
                var (name, headers, key, value) = probes[i];
                var partition = new TopicPartition(store + ".quarantine", i % topics.Names.Partitions);
                producer.Produce(partition, new Message<byte[]?, byte[]?> { Key = key, Value = value, Headers = headers });
                var normal = SealedAt(offset++);
                var record = new QuarantineRecord(normal, $"normal-{i}", QuarantineDisposition.Quarantined,
                    [new Streams.Contracts.Quarantine.QuarantineReason("unknown_currency", "currency", "must be an active ISO 4217 currency code")],
                    JsonDocument.Parse(Masked).RootElement.Clone(), "00", 10, DateTimeOffset.UtcNow);
                producer.Produce(partition, new Message<byte[]?, byte[]?> { Value = QuarantineJson.Serialize(record), Headers = OutputHeaders.For(normal, OutputHeaders.KindQuarantine, sealer) });
                normals.Add((normal, name));
            }

            producer.Flush(TimeSpan.FromSeconds(30));
        }

        var clock = Stopwatch.StartNew();
        foreach (var (normal, after) in normals)
        {
            while (await Find(normal) is null)
            {
                Assert.True(clock.Elapsed < Patience, $"the normal record after \"{after}\" was not indexed: the index stopped or is stuck on it");
                await Task.Delay(50);
            }
        }

        // What the index keeps of the values PostgreSQL cannot hold as they are, and of the ones that are not what ingest writes.
        Assert.Equal("x\uFFFF0y", (await Find(SealedAt(0)))!.EventId);
        Assert.Equal([new QuarantineReason("unknown_currency", "f\uFFFD", "d\uFFFD")], (await Find(SealedAt(1)))!.Reasons);
        Assert.Contains("\\u0000", (await Find(SealedAt(2)))!.MaskedRecordJson, StringComparison.Ordinal);
        Assert.Null(await Find(SealedAt(3)));
        Assert.Equal(["unrecognized"], (await Find(SealedAt(5)))!.Reasons.Select(r => r.Code));
        Assert.Equal(["unrecognized"], (await Find(SealedAt(7)))!.Reasons.Select(r => r.Code));
        Assert.Equal(new DateTimeOffset(2026, 12, 4, 12, 0, 0, TimeSpan.Zero), (await Find(SealedAt(11)))!.QuarantinedAt);
        Assert.Null((await Find(SealedAt(21)))!.MaskedRecordJson);
        Assert.Equal(0, host.Get<QuarantineIndexWorker>().StoreRejected);

        // No table and no log line holds a raw personal value (the probes put them in keys, headers and values).
        var search = SearchValues.Create([Email, Name, "7946 0321"], StringComparison.Ordinal);
        foreach (var table in await Database.TablesAsync(host.ConnectionString))
        {
            PrivacyScan.AssertClean($"table {table}", string.Join('\n', await Database.DumpAsync(host.ConnectionString, table)), search);
        }

        PrivacyScan.AssertClean("the logs", host.Logs.Text, search);

        // Far past any offset the real records above take on store's partitions: the index keeps one row per position, and
        // ingest's duplicate (its offset 1 when both copies land on partition 0) would otherwise be found in a probe's place.
        SourcePosition SealedAt(long at) => new(store, 0, ForgedOffsets + at);

        Task<QuarantineEntry?> Find(SourcePosition at) => stewardship.FindAsync(at, default);

        Headers Sealed(long at) => OutputHeaders.For(SealedAt(at), OutputHeaders.KindQuarantine, sealer);
    }

    /// <summary>
    /// A quarantine record that gets past the index's reader and that PostgreSQL still refuses (here through constraints
    /// the test adds) is isolated: the rest of its batch is indexed, the refused record's row keeps its position and
    /// codes only, and a record whose reduced row is refused too is passed by, logged and counted.
    /// </summary>
    [Fact]
    public async Task RecordsTheStoreRefuses_AreIsolated_TheRestOfTheirBatchIsIndexed_AndTheIndexGoesOn()
    {
        var topics = await TestTopics.CreateAsync(kafka, partitions: 1);
        await using var host = await InProcessHost.StartAsync(kafka, postgres, topics, builder => Index(builder, TimeSpan.FromMilliseconds(500)),
            "--only", "ingest");
        await Eventually.UntilAsync(() => Database.CountAsync(host.ConnectionString,
            "select count(*) from information_schema.tables where table_name = 'quarantine_index'"), n => n == 1, Patience);
        await Database.RowsAsync(host.ConnectionString, """
            alter table quarantine_index add constraint refuses_event_id check (event_id is distinct from 'refused-id');
            alter table quarantine_index add constraint refuses_offset check ("offset" <> 13)
            """);
        var store = topics.Names.Store;
        var sealer = host.Get<Pseudonymizer>();
        using (var producer = new ProducerBuilder<byte[]?, byte[]?>(new ProducerConfig { BootstrapServers = kafka.BootstrapServers, LingerMs = 5 }).Build())
        {
            // One batch (the index waits half a second for it to fill): 20 records, two of them refused.
            for (var i = 0; i < 20; i++)
            {
                var source = new SourcePosition(store, 0, i);
                producer.Produce(store + ".quarantine", new Message<byte[]?, byte[]?>
                {
                    Value = Encoding.UTF8.GetBytes(Quarantine(i == 7 ? "\"refused-id\"" : $"\"e-{i}\"")),
                    Headers = OutputHeaders.For(source, OutputHeaders.KindQuarantine, sealer),
                });
            }

            producer.Flush(TimeSpan.FromSeconds(10));
        }

        var page = await Eventually.UntilAsync(() => host.Get<IStewardship>().BrowseAsync(new QuarantineQuery(store, PageSize: 100), default),
            p => p.Total == 19, Patience);
        Assert.Equal([.. Enumerable.Range(0, 20).Where(i => i != 13)], page.Entries.Select(e => (int)e.Source.Offset).Order());
        var reduced = page.Entries.Single(e => e.Source.Offset == 7);
        Assert.Equal((null, null, "quarantined"), (reduced.EventId, reduced.MaskedRecordJson, reduced.Disposition));
        Assert.Equal([new QuarantineReason("unknown_currency", null, null)], reduced.Reasons);
        Assert.Equal(Masked, page.Entries.Single(e => e.Source.Offset == 8).MaskedRecordJson);
        Assert.Equal(2, host.Get<QuarantineIndexWorker>().StoreRejected);
        Assert.Contains(host.Logs.Lines, l => l.Contains($"{store}.quarantine/0@13", StringComparison.Ordinal) && l.Contains("23514", StringComparison.Ordinal));
        Assert.Equal(20, await Database.CountAsync(host.ConnectionString,
            $"select next_offset from consumer_offsets where consumer = 'quarantine-index' and topic = '{store}.quarantine'"));
    }

    /// <summary>The index in a host that runs ingest (the index's own option is bound only with the quality worker's).</summary>
    private static void Index(HostApplicationBuilder builder, TimeSpan maxBatchWait)
    {
        builder.AddStewardship();
        builder.Services.Configure<StewardshipOptions>(o => o.IndexMaxBatchWait = maxBatchWait);
    }

    private static string Quarantine(
        string eventId, string? reasons = null, string? record = null, string at = "2026-12-04T12:00:00Z", string disposition = "\"quarantined\"") =>
        $$"""
        {"source":{"topic":"store","partition":0,"offset":1},"event_id":{{eventId}},"disposition":{{disposition}},"reasons":{{reasons
            ?? "[{\"code\":\"unknown_currency\",\"field\":\"currency\",\"detail\":\"must be an active ISO 4217 currency code\"}]"}},"record":{{record
            ?? Masked}},"raw_sha256":"00","raw_bytes":10,"quarantined_at":"{{at}}"}
        """;

    /// <summary>Letters PostgreSQL cannot compress below an index row's limit.</summary>
    private static string Incompressible(int length)
    {
        var random = new Random(length);
        return string.Create(length, random, (span, r) =>
        {
            for (var i = 0; i < span.Length; i++)
            {
                span[i] = (char)('a' + r.Next(26));
            }
        });
    }

    private static Headers With(Headers headers, params (string Key, string? Value)[] added)
    {
        foreach (var (key, value) in added)
        {
            headers.Add(key, value is null ? null : Encoding.UTF8.GetBytes(value));
        }

        return headers;
    }
}
