using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Streams.Contracts;
using Streams.Contracts.Canonical;
using Streams.Contracts.Identifiers;
using Streams.Contracts.Outputs;
using Streams.Contracts.Topics;
using Streams.Ingest;
using Streams.Ingest.Pseudonymization;
using Streams.Ingest.Worker;
using Streams.IntegrationTests.Fixtures;

namespace Streams.IntegrationTests.Pipeline;

/// <summary>
/// Hostile records fed to the running host, one at a time, each followed on the same partition by a clean sentinel that
/// must come through: numbers at every limit, strings far past their maximum, Unicode edge cases, keys and headers of
/// every size and encoding, and records the stage before would never write (forged canonical and profile records).
/// None may stop a worker, wedge a partition or copy a raw personal value anywhere the pipeline writes.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed class HostileCorpusTests(KafkaFixture kafka, PostgresFixture postgres)
{
    private const int Partitions = 4;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(150);

    [Fact]
    public async Task HostileCorpus_NeitherStopsNorWedgesAnyWorker_AndLeaksNoRawValue()
    {
        var topics = await TestTopics.CreateAsync(kafka, Partitions);
        var groups = KafkaFixture.Unique("hostile");
        await using var host = await InProcessHost.StartAsync(kafka, postgres, topics,
            $"--Ingest:GroupId={groups}-ingest", $"--Profiles:GroupId={groups}-profiles", $"--Segmentation:GroupId={groups}-segmentation",
            "--Profiles:MaxBatchWait=00:00:00.050", "--Segmentation:MaxBatchWait=00:00:00.100");

        var probes = HostileProbes.All(topics.Names);
        Assert.True(probes.Count >= 40, $"the corpus has {probes.Count} probes");
        var sentinels = new List<Sentinel>();
        using (var producer = new ProducerBuilder<byte[]?, byte[]?>(new ProducerConfig
               {
                   BootstrapServers = kafka.BootstrapServers, LingerMs = 2, MessageMaxBytes = 4 * 1024 * 1024,
               }).Build())
        {
            var n = 0;
            foreach (var probe in probes)
            {
                // The probe and its sentinel share a partition: a probe that wedges its partition keeps the sentinel out.
                var partition = new TopicPartition(probe.Topic, n % Partitions);
                var sentinel = Sentinel.For(probe, topics.Names, n++);
                producer.Produce(partition, probe.Message());
                producer.Produce(partition, sentinel.Message());
                sentinels.Add(sentinel);
                // One probe at a time, as the issue's trial did: a probe that stops a worker is then the one to blame.
                Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));
            }
        }

        await WaitForStoredOffsetsAtEndAsync(host.ConnectionString, topics.Names);
        var canonical = TopicReader.ReadAll(kafka.BootstrapServers, topics.Names.Canonical)
            .Select(r => Encoding.UTF8.GetString(r.Message.Value ?? [])).ToList();
        var pseudonyms = (await Database.RowsAsync(host.ConnectionString, "select pseudonym from identifiers"))
            .Select(r => (string)r[0]!).ToHashSet(StringComparer.Ordinal);
        foreach (var sentinel in sentinels)
        {
            Assert.True(sentinel.CameThrough(canonical, pseudonyms), $"the sentinel after probe '{sentinel.After}' did not come through");
        }

        var failures = host.Logs.Lines.Where(l => l.Contains("session failed", StringComparison.Ordinal)).ToList();
        Assert.True(failures.Count == 0, "a worker session failed:\n" + string.Join('\n', failures.Take(5)));

        await AssertNoRawValueAsync(host, topics, probes.SelectMany(p => p.Needles).ToHashSet(StringComparer.Ordinal));
    }

    /// <summary>Waits until every worker has stored, for every partition of its input, the end of that partition.</summary>
    private async Task WaitForStoredOffsetsAtEndAsync(string db, TopicsOptions names)
    {
        var catalog = new TopicCatalog(names);
        string[] watched = [.. catalog.Inputs, names.Canonical, names.Profiles];
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig
        {
            BootstrapServers = kafka.BootstrapServers, GroupId = KafkaFixture.Unique("ends"),
        }).Build();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var behind = new List<string>();
        while (clock.Elapsed < Patience)
        {
            var stored = new Dictionary<(string, int), long>();
            foreach (var row in await Database.RowsAsync(db, "select topic, partition, next_offset from consumer_offsets"))
            {
                stored[((string)row[0]!, (int)row[1]!)] = (long)row[2]!;
            }

            behind.Clear();
            foreach (var topic in watched)
            {
                for (var p = 0; p < Partitions; p++)
                {
                    var end = consumer.QueryWatermarkOffsets(new TopicPartition(topic, p), TimeSpan.FromSeconds(10)).High.Value;
                    var at = stored.GetValueOrDefault((topic, p));
                    if (end > 0 && at < end)
                    {
                        behind.Add($"{topic}/{p}: stored {at}, end {end}");
                    }
                }
            }

            if (behind.Count == 0)
            {
                return;
            }

            await Task.Delay(500);
        }

        Assert.Fail("partitions not worked through (a wedged partition or a stopped worker):\n" + string.Join('\n', behind));
    }

    private async Task AssertNoRawValueAsync(InProcessHost host, TestTopics topics, HashSet<string> needles)
    {
        var search = SearchValues.Create([.. needles], StringComparison.Ordinal);
        foreach (var topic in topics.Catalog.All.Where(t => t.Role != TopicRole.Input))
        {
            foreach (var record in TopicReader.ReadAll(kafka.BootstrapServers, topic.Name))
            {
                Inspect(Text(record.Message.Key), $"a key on {topic.Name}");
                Inspect(Text(record.Message.Value), $"a value on {topic.Name}");
                foreach (var header in record.Message.Headers ?? [])
                {
                    Inspect(header.Key + "=" + Text(header.GetValueBytes()), $"a header on {topic.Name}");
                }
            }
        }

        foreach (var table in await Database.TablesAsync(host.ConnectionString))
        {
            foreach (var row in await Database.DumpAsync(host.ConnectionString, table))
            {
                Inspect(row, $"table {table}");
            }
        }

        Inspect(host.Logs.Text, "the log");

        void Inspect(string text, string where)
        {
            var at = text.AsSpan().IndexOfAny(search);
            Assert.True(at < 0, $"{where} holds a raw value: …{(at < 0 ? "" : text.Substring(at, Math.Min(60, text.Length - at)))}…");
        }

        // Raw JSON escapes non-ASCII and some ASCII, so both the bytes as UTF-8 and their unescaped form are searched. A
        // binary value (the output seal) need not unescape at all: then its bytes as they are are what is searched.
        static string Text(byte[]? bytes)
        {
            if (bytes is null)
            {
                return "";
            }

            var text = Encoding.UTF8.GetString(bytes);
            try
            {
                return text + "\n" + System.Text.RegularExpressions.Regex.Unescape(text.Replace("\\\"", "\"", StringComparison.Ordinal));
            }
            catch (System.Text.RegularExpressions.RegexParseException)
            {
                return text;
            }
        }
    }

    /// <summary>A clean record after a probe, and how to tell that it came through the stage the probe was aimed at.</summary>
    private sealed record Sentinel(string After, string Topic, byte[] Value, Headers? Headers, Func<List<string>, HashSet<string>, bool> Check)
    {
        public Message<byte[]?, byte[]?> Message() => new() { Key = null, Value = Value, Headers = Headers ?? [] };

        public bool CameThrough(List<string> canonical, HashSet<string> pseudonyms) => Check(canonical, pseudonyms);

        public static Sentinel For(HostileProbe probe, TopicsOptions names, int n)
        {
            var id = string.Create(CultureInfo.InvariantCulture, $"sentinel-{n}-{Guid.NewGuid():N}");
            if (probe.Topic == names.Canonical)
            {
                var pseudonym = HostileProbes.Pseudonym();
                var e = HostileProbes.CanonicalStore(id, pseudonym, total: 12.5);
                return new Sentinel(probe.Name, probe.Topic, Encoding.UTF8.GetBytes(e.ToJsonString()),
                    OutputHeaders.For(new SourcePosition(names.Store, 0, n), OutputHeaders.KindEvent),
                    (_, stored) => stored.Contains(pseudonym));
            }

            if (probe.Topic == names.Profiles)
            {
                // Segmentation writes nothing for one profile below its thresholds: the stored offsets show it read past it.
                return new Sentinel(probe.Name, probe.Topic, Encoding.UTF8.GetBytes(HostileProbes.Profile("p-" + id).ToJsonString()), null,
                    (_, _) => true);
            }

            var value = probe.Topic == names.Clickstream ? SampleEvents.Clickstream(id, "anon-" + id)
                : probe.Topic == names.Store ? SampleEvents.Store(id, loyaltyId: "L-" + id)
                : probe.Topic == names.Callcenter ? SampleEvents.Callcenter(id, "+1555010" + (n % 10000).ToString("D4", CultureInfo.InvariantCulture))
                : probe.Topic == names.Social ? SampleEvents.Social(id, "handle_" + n.ToString(CultureInfo.InvariantCulture))
                : SampleEvents.Consent(id, "loyalty", "L-" + id, "opt_out");
            return new Sentinel(probe.Name, probe.Topic, Encoding.UTF8.GetBytes(value), null,
                (canonical, _) => canonical.Any(c => c.Contains(id, StringComparison.Ordinal)));
        }
    }
}

/// <summary>One hostile record: where it goes, its key, value and headers, and the raw values that must never come out.</summary>
public sealed record HostileProbe(string Name, string Topic, byte[]? Key, byte[]? Value, IReadOnlyList<(string Key, byte[] Value)> Headers)
{
    public IReadOnlyList<string> Needles { get; init; } = [];

    public Message<byte[]?, byte[]?> Message()
    {
        var headers = new Headers();
        foreach (var (key, value) in Headers)
        {
            headers.Add(key, value);
        }

        return new Message<byte[]?, byte[]?> { Key = Key, Value = Value, Headers = headers };
    }
}

/// <summary>The corpus, by class: what each probe tries and which raw values it carries.</summary>
public static class HostileProbes
{
    public static List<HostileProbe> All(TopicsOptions t)
    {
        var probes = new List<HostileProbe>();
        var n = 0;
        string Id() => "hostile-" + (n++).ToString(CultureInfo.InvariantCulture) + "-" + Guid.NewGuid().ToString("N")[..8];

        // Numbers at and past every limit, alone and combined.
        probes.Add(Json("line amount overflows", t.Store, Store(Id(), items: [Item("grocery", 2, 1e308)], total: 1e308)));
        probes.Add(Json("total of lines overflows", t.Store, Store(Id(), items: [Item("grocery", 1, 1e308), Item("shoes", 1, 1e308)], total: 1e308)));
        probes.Add(Raw("total 1e400", t.Store, Store(Id()).ToJsonString().Replace("\"total\":25", "\"total\":1e400", StringComparison.Ordinal)));
        probes.Add(Raw("unit price -1e400", t.Store, Store(Id(), items: [Item("grocery", 1, 1)], total: 1).ToJsonString()
            .Replace("\"unit_price\":1", "\"unit_price\":-1e400", StringComparison.Ordinal)));
        probes.Add(Json("quantity past int", t.Store, Store(Id(), items: [Item("grocery", 2147483648d, 1)], total: 2147483648d)));
        probes.Add(Json("quantity past long", t.Store, Store(Id(), items: [Item("grocery", 1e19, 1)], total: 1e19)));
        probes.Add(Json("negative zero total", t.Store, Store(Id(), items: [Item("grocery", 1, -0.0)], total: -0.0)));
        probes.Add(Json("ten thousand lines", t.Store, Store(Id(), items: [.. Enumerable.Range(0, 10_000).Select(i => Item("c" + i, 1, 1))], total: 10_000)));
        probes.Add(Raw("NaN literal", t.Store, Store(Id()).ToJsonString().Replace("\"total\":25", "\"total\":NaN", StringComparison.Ordinal)));
        probes.Add(Json("dwell past long", t.Clickstream, Click(Id(), dwell: JsonValue.Create(9.3e18))));
        probes.Add(Json("dwell 1e308", t.Clickstream, Click(Id(), dwell: JsonValue.Create(1e308))));
        probes.Add(Json("followers 1e300", t.Social, Social(Id(), followers: 1e300)));
        probes.Add(Json("sentiment 1e308", t.Callcenter, Call(Id(), sentiment: 1e308)));
        probes.Add(Json("duration negative", t.Callcenter, Call(Id(), duration: -1)));

        // Strings far past any maximum, and output that grows when escaped.
        probes.Add(Json("category that escapes past a megabyte", t.Store,
            Store(Id(), items: [Item(new string('\u00e9', 340_000), 1, 10)], total: 10)));
        probes.Add(Json("page category of control characters", t.Clickstream, Click(Id(), category: new string('\u0001', 300_000))));
        probes.Add(Json("event id of 200 KB", t.Clickstream, Click("e" + new string('x', 200_000))));
        probes.Add(Json("store id of 500 KB", t.Store, Store(Id(), storeId: new string('\u4e00', 170_000))));
        probes.Add(Json("anonymous id of 300 KB", t.Clickstream, Click(Id(), anonymousId: new string('a', 300_000))));
        probes.Add(Json("handle of 200 KB", t.Social, Social(Id(), handle: new string('h', 200_000))));
        probes.Add(Json("email of 400 characters", t.Clickstream, Click(Id(), email: new string('m', 390) + "@example.com")));
        probes.Add(Json("phone of 1,000 digits", t.Callcenter, Call(Id(), phone: "+1" + new string('5', 1_000))));
        probes.Add(Json("consent identifier of 100 KB", t.Consent, Consent(Id(), "email", new string('c', 100_000) + "@example.com")));

        // Unicode edge cases.
        probes.Add(Raw("lone surrogate in the event id", t.Clickstream, Click(Id()).ToJsonString().Replace("\"event_id\":\"", "\"event_id\":\"\\ud800", StringComparison.Ordinal)));
        probes.Add(Raw("lone low surrogate in a category", t.Store, Store(Id()).ToJsonString().Replace("\"grocery\"", "\"gro\\udc00cery\"", StringComparison.Ordinal)));
        probes.Add(Json("NUL characters", t.Store, Store(Id(), storeId: "S-\u0000-42")));
        probes.Add(Bytes("a byte order mark", t.Social, [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(Social(Id()).ToJsonString())]));
        probes.Add(Bytes("invalid UTF-8", t.Callcenter, [.. Encoding.UTF8.GetBytes("{\"event_id\":\""), 0xC3, 0x28, .. Encoding.UTF8.GetBytes("\"}")]));
        probes.Add(Json("right-to-left override in an email", t.Clickstream, Click(Id(), email: "rtl.victim\u202e@example.com")) with
        {
            Needles = ["rtl.victim"],
        });
        probes.Add(Json("combining characters in a handle", t.Social, Social(Id(), handle: "ha\u0301ndle\u0308_\u200d" + new string('\u0301', 5_000))));

        // Shapes a channel never sends.
        probes.Add(Raw("deep nesting", t.Store, new string('[', 100_000) + new string(']', 100_000)));
        probes.Add(Raw("empty object", t.Social, "{}"));
        probes.Add(Raw("a JSON array", t.Clickstream, "[1,2,3]"));
        probes.Add(Raw("a JSON string", t.Consent, "\"opt_out\""));
        probes.Add(Raw("the null literal", t.Callcenter, "null"));
        probes.Add(Bytes("an empty value", t.Store, []));
        probes.Add(new HostileProbe("a tombstone", t.Social, Encoding.UTF8.GetBytes("tomb"), null, []));
        probes.Add(Raw("duplicate fields", t.Store, Store(Id()).ToJsonString().Replace("\"currency\":\"EUR\"", "\"currency\":\"EUR\",\"currency\":\"XXX\"", StringComparison.Ordinal)));
        probes.Add(Json("identifiers of the wrong type", t.Store, Store(Id(), loyalty: new JsonObject { ["nested"] = new JsonArray(1, 2) })));
        probes.Add(Json("timestamp at year 9999", t.Social, Social(Id(), at: "9999-12-31T23:59:59.999Z")));
        probes.Add(Json("timestamp at year 1", t.Social, Social(Id(), at: "0001-01-01T00:00:00Z")));
        probes.Add(Json("timestamp past year 9999", t.Callcenter, Call(Id(), at: "+275760-09-13T00:00:00Z")));
        probes.Add(Json("SQL in fields", t.Store, Store(Id(), storeId: "S'; drop table profiles; --", items: [Item("'); delete from identifiers; --", 1, 25)])));
        probes.Add(Json("unknown consent action", t.Consent, Consent(Id(), "email", "someone.else@example.com", "forget_me_maybe")));

        // Keys and headers of every size and encoding; a key that is an email must never be copied out.
        const string keyEmail = "key.victim@example.com";
        probes.Add(Raw("email key on a malformed record", t.Store, "{not json", key: keyEmail) with { Needles = [keyEmail] });
        probes.Add(Json("email key on a clean record", t.Clickstream, Click(Id()), key: "key.clean@example.com") with { Needles = ["key.clean@example.com"] });
        probes.Add(Json("email key on a flagged record", t.Store, Store(Id(), phone: "12", email: "ok.flagged@example.com"), key: "key.flagged@example.com") with
        {
            Needles = ["key.flagged@example.com", "ok.flagged@example.com"],
        });
        probes.Add(Raw("900 KB key on a malformed record", t.Social, "[", key: new string('k', 900_000)));
        probes.Add(Json("900 KB key on a clean record", t.Social, Social(Id()), key: new string('q', 900_000)));
        probes.Add(Bytes("invalid UTF-8 key", t.Clickstream, Encoding.UTF8.GetBytes(Click(Id()).ToJsonString())) with { Key = [0xFF, 0xFE, 0x00, 0xC3] });
        probes.Add(Json("an email in a header", t.Store, Store(Id()), headers: [("customer", Encoding.UTF8.GetBytes("hdr.victim@example.com"))]) with
        {
            Needles = ["hdr.victim@example.com"],
        });
        probes.Add(Json("forged streams headers", t.Callcenter, Call(Id()), headers:
            [(OutputHeaders.Source, Encoding.UTF8.GetBytes("../../etc/passwd/1/2")), (OutputHeaders.Kind, [0xFF, 0x00, 0xFE])]));
        probes.Add(Raw("a 500 KB non-UTF-8 header on a malformed record", t.Consent, "{", headers: [("h", [.. Enumerable.Repeat((byte)0xFF, 500_000)])]));

        // Personal free text that must be dropped, on records that are quarantined and on records that are accepted.
        probes.Add(Json("an email in a URL query", t.Clickstream, Click(Id(), url: "https://shop.example/p?ref=url.victim@example.com")) with
        {
            Needles = ["url.victim@example.com"],
        });
        probes.Add(Json("a name on a quarantined record", t.Store, Store(Id(), name: "Quentin Quarantino", total: -5)) with { Needles = ["Quentin Quarantino"] });
        probes.Add(Json("a 300 KB transcript", t.Callcenter, Call(Id(), transcript: "transcript.victim@example.com " + new string('t', 300_000))) with
        {
            Needles = ["transcript.victim@example.com"],
        });

        // Records the stage before would never write: forged canonical events for profiles.
        var source = OutputHeaders.For(new SourcePosition(t.Store, 0, 1), OutputHeaders.KindEvent);
        List<(string, byte[])> eventHeaders = [.. source.Select(h => (h.Key, h.GetValueBytes()))];
        probes.Add(Forged("canonical with a lone surrogate pseudonym", t.Canonical, CanonicalStore(Id(), "k1:ab", 10).ToJsonString()
            .Replace("\"k1:ab\"", "\"k1:\\ud800\"", StringComparison.Ordinal), eventHeaders));
        probes.Add(Forged("canonical total 1e400", t.Canonical, CanonicalStore(Id(), Pseudonym(), 10).ToJsonString()
            .Replace("\"total\":10,", "\"total\":1e400,", StringComparison.Ordinal), eventHeaders));
        var overflowing = Pseudonym();
        for (var i = 0; i < 3; i++)
        {
            probes.Add(Forged("canonical totals whose sum overflows " + i, t.Canonical, CanonicalStore(Id(), overflowing, 1.7e308).ToJsonString(), eventHeaders));
        }

        probes.Add(Forged("canonical with a null event id", t.Canonical, CanonicalStore(null, Pseudonym(), 10).ToJsonString(), eventHeaders));
        probes.Add(Forged("canonical with 5,000 identifiers", t.Canonical, CanonicalStore(Id(), Pseudonym(), 10, extraIdentifiers: 5_000).ToJsonString(), eventHeaders));
        probes.Add(Forged("canonical with 5,000 categories", t.Canonical, CanonicalStore(Id(), Pseudonym(), 10, categories: 5_000).ToJsonString(), eventHeaders));
        probes.Add(Forged("canonical at year 9999", t.Canonical, CanonicalStore(Id(), Pseudonym(), 10, at: "9999-12-31T23:59:59.999Z").ToJsonString(), eventHeaders));
        probes.Add(Forged("canonical without headers", t.Canonical, CanonicalStore(Id(), Pseudonym(), 10).ToJsonString(), []));
        probes.Add(Forged("canonical with a binary kind", t.Canonical, CanonicalStore(Id(), Pseudonym(), 10).ToJsonString(),
            [(OutputHeaders.Source, Encoding.UTF8.GetBytes("x/0/1")), (OutputHeaders.Kind, [0xFF, 0xFE])]));
        probes.Add(Forged("canonical event under the consent kind", t.Canonical, CanonicalStore(Id(), Pseudonym(), 10).ToJsonString(),
            [.. eventHeaders.Take(1), (OutputHeaders.Kind, Encoding.UTF8.GetBytes(OutputHeaders.KindConsent))]));
        probes.Add(Forged("canonical of invalid UTF-8", t.Canonical, "{\"event_id\":\"\u00ff\"}", eventHeaders) with
        {
            Value = [.. Encoding.UTF8.GetBytes("{\"event_id\":\""), 0xC0, 0xAF, .. Encoding.UTF8.GetBytes("\"}")],
        });

        // Forged profile records for segmentation.
        probes.Add(Forged("profile with a null id", t.Profiles, Profile(null).ToJsonString(), []));
        probes.Add(Forged("profile feature 1e400", t.Profiles, Profile("p-" + Id()).ToJsonString()
            .Replace("\"spend_total\":120", "\"spend_total\":1e400", StringComparison.Ordinal), []));
        probes.Add(Forged("profile feature NaN string", t.Profiles, Profile("p-" + Id(), spend: "NaN").ToJsonString(), []));
        probes.Add(Forged("profile with negative counts", t.Profiles, Profile("p-" + Id(), count: -5).ToJsonString(), []));
        probes.Add(Forged("profile with 10,000 features", t.Profiles, Profile("p-" + Id(), extraFeatures: 10_000).ToJsonString(), []));
        probes.Add(Forged("profile id with a lone surrogate", t.Profiles, Profile("p-x").ToJsonString()
            .Replace("\"p-x\"", "\"p-\\udfff\"", StringComparison.Ordinal), []));
        probes.Add(Forged("profile that is an array", t.Profiles, "[{\"profile_id\":\"p\"}]", []));
        return probes;
    }

    /// <summary>A canonical store event as ingest writes it, then bent where a probe needs it.</summary>
    public static JsonObject CanonicalStore(string? eventId, string pseudonym, double total, int extraIdentifiers = 0, int categories = 1,
        string at = "2026-11-01T10:00:00.000Z")
    {
        var e = CanonicalFeed.StoreEvent(eventId ?? "placeholder", DateTimeOffset.Parse(at, CultureInfo.InvariantCulture), total, "grocery",
            [new CanonicalIdentifier(IdentifierType.Loyalty, pseudonym),
             .. Enumerable.Range(0, extraIdentifiers).Select(_ => new CanonicalIdentifier(IdentifierType.Device, Pseudonym()))]);
        if (categories > 1)
        {
            e = e with
            {
                Store = e.Store! with
                {
                    Categories = [.. Enumerable.Range(0, categories).Select(i => new CategoryAmount("cat-" + i.ToString(CultureInfo.InvariantCulture), 1, total / categories))],
                },
            };
        }

        var o = JsonNode.Parse(CanonicalJson.Serialize(e))!.AsObject();
        if (eventId is null)
        {
            o["event_id"] = null;
        }

        return o;
    }

    public static JsonObject Profile(string? id, object? spend = null, int count = 3, int extraFeatures = 0)
    {
        var features = new JsonObject
        {
            ["spend_total"] = 120, ["store_share"] = 0.5, ["recency_days"] = 3, ["sentiment"] = 0.1,
        };
        if (spend is not null)
        {
            features["spend_total"] = JsonValue.Create(spend);
        }

        for (var i = 0; i < extraFeatures; i++)
        {
            features["f" + i.ToString(CultureInfo.InvariantCulture)] = i;
        }

        return new JsonObject
        {
            ["profile_id"] = id, ["identifiers"] = new JsonArray(Pseudonym()), ["first_seen"] = "2026-10-01T00:00:00.000Z",
            ["last_seen"] = "2026-11-01T00:00:00.000Z",
            ["event_counts"] = new JsonObject { ["clickstream"] = count, ["store"] = count, ["callcenter"] = 0, ["social"] = 0 },
            ["features"] = features, ["personalization_allowed"] = true, ["version"] = 1, ["updated_at"] = "2026-11-01T00:00:00.000Z",
        };
    }

    public static string Pseudonym() => CanonicalFeed.Pseudonym("loyalty", Guid.NewGuid().ToString("N"));

    private static JsonObject Item(string category, double quantity, double unitPrice) => new()
    {
        ["sku"] = "A1", ["category"] = category, ["quantity"] = quantity, ["unit_price"] = unitPrice,
    };

    private static JsonObject Store(string id, JsonObject[]? items = null, double total = 25, string storeId = "S-042", JsonNode? loyalty = null,
        string? phone = null, string? email = null, string? name = null)
    {
        var o = Parse(Fixtures.SampleEvents.Store(id, loyaltyId: "L-" + id));
        if (items is not null)
        {
            o["items"] = new JsonArray([.. items]);
        }

        o["total"] = total;
        o["store_id"] = storeId;
        Set(o, "loyalty_id", loyalty);
        Set(o, "phone", phone);
        Set(o, "email", email);
        Set(o, "customer_name", name);
        return o;
    }

    private static JsonObject Click(string id, JsonNode? dwell = null, string? category = null, string? anonymousId = null, string? email = null,
        string? url = null)
    {
        var o = Parse(Fixtures.SampleEvents.Clickstream(id, anonymousId ?? "anon-" + id, email, url: url));
        Set(o, "dwell_ms", dwell);
        Set(o, "page_category", category);
        return o;
    }

    private static JsonObject Social(string id, double? followers = null, string? handle = null, string? at = null)
    {
        var o = Parse(Fixtures.SampleEvents.Social(id, handle ?? "handle_" + id[^8..]));
        Set(o, "followers", followers);
        Set(o, "occurred_at", at);
        return o;
    }

    private static JsonObject Call(string id, double? sentiment = null, double? duration = null, string? phone = null, string? at = null,
        string? transcript = null)
    {
        var o = Parse(Fixtures.SampleEvents.Callcenter(id, phone ?? "+15550123456", transcript: transcript));
        Set(o, "sentiment", sentiment);
        Set(o, "duration_s", duration);
        Set(o, "occurred_at", at);
        return o;
    }

    private static JsonObject Consent(string id, string type, string identifier, string action = "opt_out") =>
        Parse(Fixtures.SampleEvents.Consent(id, type, identifier, action));

    private static JsonObject Parse(string json) => JsonNode.Parse(json)!.AsObject();

    private static void Set(JsonObject o, string name, JsonNode? value)
    {
        if (value is not null)
        {
            o[name] = value;
        }
    }

    private static void Set(JsonObject o, string name, string? value)
    {
        if (value is not null)
        {
            o[name] = value;
        }
    }

    private static void Set(JsonObject o, string name, double? value)
    {
        if (value is not null)
        {
            o[name] = value.Value;
        }
    }

    private static HostileProbe Json(string name, string topic, JsonObject value, string? key = null, (string, byte[])[]? headers = null) =>
        Raw(name, topic, value.ToJsonString(), key, headers);

    private static HostileProbe Raw(string name, string topic, string value, string? key = null, (string, byte[])[]? headers = null) =>
        new(name, topic, key is null ? null : Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes(value), headers ?? []);

    private static HostileProbe Bytes(string name, string topic, byte[] value) => new(name, topic, null, value, []);

    private static HostileProbe Forged(string name, string topic, string value, List<(string, byte[])> headers) =>
        new(name, topic, Encoding.UTF8.GetBytes("forged"), Encoding.UTF8.GetBytes(value), headers);
}
