using System.Buffers;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using Streams.Contracts.Topics;
using Streams.IntegrationTests.Fixtures;

namespace Streams.IntegrationTests.Activation;

/// <summary>
/// Hostile rows on <c>activation-requests</c>, the one input campaign systems write, each followed on its partition by a
/// clean row that must be answered: strings past every limit, escapes no .NET string can hold, control characters,
/// nesting, invalid UTF-8, personal data in keys, headers and ids. None may stop the worker, wedge a partition or copy a
/// raw value out of the request topic.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed class ActivationHostileTests(KafkaFixture kafka, PostgresFixture postgres)
{
    private const int Partitions = 2;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task HostileRows_NeitherStopNorWedgeTheWorker_AreQuarantined_AndLeakNoRawValue()
    {
        var topics = await TestTopics.CreateAsync(kafka, Partitions);
        var group = KafkaFixture.Unique("act-hostile");
        await using var host = await InProcessHost.StartAsync(kafka, postgres, topics, "--only", "activation",
            $"--Activation:GroupId={group}", "--Activation:MaxBatchWait=00:00:00.050");

        var probes = Probes();
        using (var producer = new ProducerBuilder<byte[]?, byte[]?>(new ProducerConfig
               {
                   BootstrapServers = kafka.BootstrapServers, LingerMs = 2, MessageMaxBytes = 4 * 1024 * 1024,
               }).Build())
        {
            for (var n = 0; n < probes.Count; n++)
            {
                // The probe and its sentinel share a partition: a probe that wedges its partition keeps the sentinel out.
                var partition = new TopicPartition(topics.Names.ActivationRequests, n % Partitions);
                producer.Produce(partition, probes[n].Message);
                producer.Produce(partition, new Message<byte[]?, byte[]?> { Value = Row($"sentinel-{n}", "victim.sentinel@example.com") });
                Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));
            }
        }

        var answers = await TopicReader.WaitForAsync(kafka.BootstrapServers, [topics.Names.ActivationResponses],
            r => r.Count(a => Key(a).StartsWith("sentinel-", StringComparison.Ordinal)) >= probes.Count, Patience);
        var answered = answers.Select(Key).ToHashSet(StringComparer.Ordinal);
        for (var n = 0; n < probes.Count; n++)
        {
            Assert.True(answered.Contains($"sentinel-{n}"), $"the row after probe '{probes[n].Name}' was not answered");
        }

        // Every probe is refused (quarantined), none answered.
        var refused = TopicReader.ReadAll(kafka.BootstrapServers, TopicsOptions.QuarantineOf(topics.Names.ActivationRequests));
        Assert.Equal(probes.Count, refused.Count);
        Assert.Equal(probes.Count, answers.Count);
        var codes = refused.Select(r => JsonDocument.Parse(r.Message.Value!).RootElement.GetProperty("reasons")[0].GetProperty("code").GetString()).ToHashSet();
        Assert.Subset(new HashSet<string?> { "malformed_json", "schema_violation", "personal_data_in_id" }, codes);

        var failures = host.Logs.Lines.Where(l => l.Contains("session failed", StringComparison.Ordinal) || l.Contains("loop ended", StringComparison.Ordinal)).ToList();
        Assert.True(failures.Count == 0, "the activation worker failed:\n" + string.Join('\n', failures.Take(5)));

        await PrivacyScan.AssertOutputsCleanAsync(kafka.BootstrapServers, host, topics.Catalog,
            SearchValues.Create([.. probes.SelectMany(p => p.Needles), "victim.sentinel@example.com"], StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task RowWhoseEffectsTheStoreRefuses_IsRefusedAlone_AndTheRowsAroundItAreAnswered()
    {
        var topics = await TestTopics.CreateAsync(kafka, 1);
        await using var host = await InProcessHost.StartAsync(kafka, postgres, topics, "--only", "activation",
            $"--Activation:GroupId={KafkaFixture.Unique("act-refused")}", "--Activation:MaxBatchWait=00:00:00.500");
        // PostgreSQL refuses the audit of one list with a data exception, as it would a value out of a column's range.
        await Database.RefuseRowsAsync(host.ConnectionString, "activation_audit", "list_id", "refused");
        using (var producer = new ProducerBuilder<byte[]?, byte[]?>(new ProducerConfig { BootstrapServers = kafka.BootstrapServers, LingerMs = 50 }).Build())
        {
            for (var n = 0; n < 9; n++)
            {
                producer.Produce(topics.Names.ActivationRequests, new Message<byte[]?, byte[]?> { Value = Row($"row-{n}", $"row{n}@example.com") });
                if (n == 4)
                {
                    producer.Produce(topics.Names.ActivationRequests, new Message<byte[]?, byte[]?>
                    {
                        Value = Encoding.UTF8.GetBytes("""{"list_id":"refused","requested_by":"probe","record_id":"x","identifiers":[{"type":"email","value":"refused.victim@example.com"}]}"""),
                    });
                }
            }

            Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));
        }

        var answers = await TopicReader.WaitForAsync(kafka.BootstrapServers, [topics.Names.ActivationResponses], r => r.Count >= 9, Patience);
        Assert.Equal([.. Enumerable.Range(0, 9).Select(n => $"row-{n}")], answers.Select(Key).Order(StringComparer.Ordinal));
        var refused = Assert.Single(TopicReader.ReadAll(kafka.BootstrapServers, TopicsOptions.QuarantineOf(topics.Names.ActivationRequests)));
        Assert.Equal($"{topics.Names.ActivationRequests}/0/5", Key(refused));
        var reason = JsonDocument.Parse(refused.Message.Value!).RootElement.GetProperty("reasons")[0];
        Assert.Equal("store_rejected", reason.GetProperty("code").GetString());
        Assert.Contains("SQLSTATE 22003", reason.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Contains("Isolated 1 records the store refused", host.Logs.Text, StringComparison.Ordinal);
        await PrivacyScan.AssertOutputsCleanAsync(kafka.BootstrapServers, host, topics.Catalog,
            SearchValues.Create(["refused.victim@example.com"], StringComparison.OrdinalIgnoreCase));
    }

    private sealed record Probe(string Name, Message<byte[]?, byte[]?> Message, IReadOnlyList<string> Needles);

    private static List<Probe> Probes()
    {
        var probes = new List<Probe>();
        void Add(string name, string json, params string[] needles) => probes.Add(new Probe(name, new Message<byte[]?, byte[]?> { Value = Encoding.UTF8.GetBytes(json) }, needles));

        const string Ids = "\"list_id\":\"hostile\",\"requested_by\":\"probe\"";
        Add("truncated JSON", $$"""{{{Ids}},"record_id":"r","identifiers":[{"type":"email","value":"cut.victim@example.com" """, "cut.victim@example.com");
        Add("lone high surrogate in the record id", $$"""{{{Ids}},"record_id":"\ud800","identifiers":[{"type":"email","value":"hs.victim@example.com"}]}""", "hs.victim@example.com");
        Add("lone low surrogate in a value", $$"""{{{Ids}},"record_id":"r","identifiers":[{"type":"email","value":"ls.victim\udc00@example.com"}]}""", "ls.victim");
        Add("lone surrogate in the type", $$"""{{{Ids}},"record_id":"r","identifiers":[{"type":"e\udfffmail","value":"ty.victim@example.com"}]}""", "ty.victim@example.com");
        Add("line break in the list id", """{"list_id":"l\nINFO: forged","requested_by":"p","record_id":"r","identifiers":[{"type":"email","value":"nl.victim@example.com"}]}""",
            "nl.victim@example.com", "INFO: forged");
        Add("NUL in the record id", $$"""{{{Ids}},"record_id":"r\u0000x","identifiers":[{"type":"email","value":"nul.victim@example.com"}]}""", "nul.victim@example.com");
        Add("e-mail as the record id", $$"""{{{Ids}},"record_id":"id.victim@example.com","identifiers":[{"type":"loyalty","value":"L-1"}]}""", "id.victim@example.com");
        Add("phone as the list id", """{"list_id":"+49 30 1234 5678","requested_by":"p","record_id":"r","identifiers":[{"type":"loyalty","value":"L-2"}]}""", "1234 5678");
        Add("duplicate record ids, the second personal", $$"""{{{Ids}},"record_id":"r","record_id":"dup.victim@example.com","identifiers":[{"type":"loyalty","value":"L-3"}]}""",
            "dup.victim@example.com");
        Add("record id far past its limit", $$"""{{{Ids}},"record_id":"{{new string('r', 200_000)}}","identifiers":[{"type":"email","value":"long.victim@example.com"}]}""",
            "long.victim@example.com");
        Add("identifier value far past its limit", $$"""{{{Ids}},"record_id":"r","identifiers":[{"type":"email","value":"big.victim@example.com{{new string('x', 900_000)}}"}]}""",
            "big.victim@example.com");
        Add("ten thousand identifiers", $$"""{{{Ids}},"record_id":"r","identifiers":[{{string.Join(',', Enumerable.Repeat("""{"type":"email","value":"many.victim@example.com"}""", 10_000))}}]}""",
            "many.victim@example.com");
        Add("nesting far past the reader's depth", new string('[', 100_000) + new string(']', 100_000));
        Add("segment id past int", $$"""{{{Ids}},"record_id":"r","segment_id":1e308,"identifiers":[{"type":"email","value":"seg.victim@example.com"}]}""", "seg.victim@example.com");
        Add("segment id as text", $$"""{{{Ids}},"record_id":"r","segment_id":"3","identifiers":[{"type":"email","value":"segt.victim@example.com"}]}""", "segt.victim@example.com");
        Add("a JSON string, not an object", "\"str.victim@example.com\"", "str.victim@example.com");
        Add("empty value", "");

        var invalid = Encoding.UTF8.GetBytes("""{"list_id":"l","requested_by":"p","record_id":"r","identifiers":[{"type":"email","value":"utf.victim@example.com"}]}""");
        invalid[10] = 0xff;
        probes.Add(new Probe("invalid UTF-8", new Message<byte[]?, byte[]?> { Value = invalid }, ["utf.victim@example.com"]));
        probes.Add(new Probe("null value (a tombstone)", new Message<byte[]?, byte[]?> { Value = null }, []));
        probes.Add(new Probe("personal key and header on a malformed row", new Message<byte[]?, byte[]?>
        {
            Key = Encoding.UTF8.GetBytes("key.victim@example.com"),
            Value = Encoding.UTF8.GetBytes("{not json"),
            Headers = new Headers { { "email", Encoding.UTF8.GetBytes("hdr.victim@example.com") } },
        }, ["key.victim@example.com", "hdr.victim@example.com"]));
        return probes;
    }

    private static byte[] Row(string recordId, string email) => JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
    {
        ["list_id"] = "hostile", ["record_id"] = recordId, ["requested_by"] = "probe",
        ["identifiers"] = new[] { new Dictionary<string, string> { ["type"] = "email", ["value"] = email } },
    });

    private static string Key(ConsumeResult<byte[]?, byte[]?> record) => Encoding.UTF8.GetString(record.Message.Key ?? []);
}
