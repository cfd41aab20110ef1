using System.Buffers;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using Streams.Contracts.Outputs;
using Streams.Ingest.Worker;
using Streams.IntegrationTests.Fixtures;

namespace Streams.IntegrationTests.Ingest;

/// <summary>The ingest worker in the real host, against the run's broker and PostgreSQL.</summary>
[Collection(IntegrationCollection.Name)]
public sealed class IngestWorkerTests(KafkaFixture kafka, PostgresFixture postgres)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task HostileInput_EachGetsAQuarantineRecordWithTheRightCode_AndTheWorkerKeepsGoing()
    {
        var topics = await TestTopics.CreateAsync(kafka, partitions: 2);
        await using var host = await InProcessHost.StartAsync(kafka, postgres, topics);
        var random = new Random(7);
        var randomBytes = new byte[512];
        random.NextBytes(randomBytes);
        var deep = new string('[', 5000) + new string(']', 5000);
        var hugeItems = "{\"event_id\":\"e-items\",\"occurred_at\":\"" + SampleEvents.When() + "\",\"store_id\":\"S1\",\"loyalty_id\":\"L-1\"," +
                        "\"total\":1,\"currency\":\"EUR\",\"items\":[" +
                        string.Join(',', Enumerable.Repeat("{\"sku\":\"a\",\"category\":\"c\",\"quantity\":\"1\",\"unit_price\":1}", 10_000)) + "]}";
        var cases = new (string Name, byte[] Value, string Code)[]
        {
            ("random bytes", randomBytes, "malformed_json"),
            ("invalid utf-8", [0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d], "malformed_json"),
            ("5 MiB value", Encoding.UTF8.GetBytes("{\"event_id\":\"" + new string('x', 5 * 1024 * 1024) + "\"}"), "oversized_record"),
            ("deeply nested", Encoding.UTF8.GetBytes(deep), "malformed_json"),
            ("numbers as strings", Encoding.UTF8.GetBytes(SampleEvents.Store("e-num", loyaltyId: "L-2").Replace("\"total\":25", "\"total\":\"25\"", StringComparison.Ordinal)), "schema_violation"),
            ("nulls everywhere", Encoding.UTF8.GetBytes("{\"event_id\":null,\"occurred_at\":null,\"store_id\":null,\"total\":null,\"currency\":null,\"items\":null}"), "schema_violation"),
            ("10,000 items", Encoding.UTF8.GetBytes(hugeItems), "schema_violation"),
            ("empty value", [], "malformed_json"),
        };

        // Quarantine records are not keyed by the input key: they are told apart by the input position they name.
        var names = new Dictionary<(int Partition, long Offset), string>();
        using (var producer = new ProducerBuilder<byte[]?, byte[]>(new ProducerConfig
               {
                   BootstrapServers = kafka.BootstrapServers,
                   MessageMaxBytes = 16 * 1024 * 1024,
               }).Build())
        {
            foreach (var (name, value, _) in cases)
            {
                // The embedded broker keeps ~5 MiB per partition and evicts older records beyond that, so the 5 MiB
                // value gets a partition of its own; everything else goes, in order, to the other one.
                var partition = value.Length > 1024 * 1024 ? 1 : 0;
                var delivered = await producer.ProduceAsync(new TopicPartition(topics.Names.Store, partition),
                    new Message<byte[]?, byte[]> { Key = Encoding.UTF8.GetBytes(name), Value = value });
                names[(delivered.Partition.Value, delivered.Offset.Value)] = name;
            }

            producer.Produce(new TopicPartition(topics.Names.Store, 0), new Message<byte[]?, byte[]>
            {
                Key = Encoding.UTF8.GetBytes("clean"), Value = Encoding.UTF8.GetBytes(SampleEvents.Store("e-clean", loyaltyId: "AB-1")),
            });
            producer.Flush(Patience);
        }

        var quarantine = await TopicReader.WaitForAsync(kafka.BootstrapServers, [$"{topics.Names.Store}.quarantine"],
            r => r.Count >= cases.Length, Patience);
        var canonical = await TopicReader.WaitForAsync(kafka.BootstrapServers, [topics.Names.Canonical], r => r.Count >= 1, Patience);

        string NameOf(ConsumeResult<byte[]?, byte[]?> r) =>
            OutputHeaders.Read(r.Message.Headers) is { } o && names.TryGetValue((o.Source.Partition, o.Source.Offset), out var n) ? n : "?";
        Assert.True(cases.Length == quarantine.Count,
            $"quarantined: {string.Join(", ", quarantine.Select(NameOf))}; log: " +
            string.Join('\n', host.Logs.Lines.Where(l => l.StartsWith("Warn", StringComparison.Ordinal) || l.StartsWith("Error", StringComparison.Ordinal))));
        foreach (var (name, _, code) in cases)
        {
            var record = Assert.Single(quarantine, r => NameOf(r) == name);
            Assert.NotEqual(name, record.Message.Key is null ? null : Encoding.UTF8.GetString(record.Message.Key));
            using var json = JsonDocument.Parse(record.Message.Value!);
            var codes = json.RootElement.GetProperty("reasons").EnumerateArray().Select(r => r.GetProperty("code").GetString()).ToList();
            Assert.True(codes.Contains(code), $"{name}: expected {code}, got {string.Join(",", codes)}");
            Assert.Equal("quarantined", json.RootElement.GetProperty("disposition").GetString());
            Assert.Equal(64, json.RootElement.GetProperty("raw_sha256").GetString()!.Length);
        }

        var clean = Assert.Single(canonical);
        Assert.Contains("e-clean", Encoding.UTF8.GetString(clean.Message.Value!), StringComparison.Ordinal);
    }

    [Fact]
    public async Task KnownPersonalData_NeverAppearsRawInAnyOutputTopicOrLog()
    {
        var topics = await TestTopics.CreateAsync(kafka);
        await using var host = await InProcessHost.StartAsync(kafka, postgres, topics);
        var secrets = new List<string>();
        var inputs = new List<(string Topic, string Value)>();
        for (var i = 0; i < 600; i++)
        {
            // Distinctive markers, so that a hit can only be a leak.
            var email = $"Privacy.Person{i}@Leak-Test.example";
            var phone = $"+1 555 01{i:D2} {1000 + i}";
            var name = $"Zebulon Quixote{i}";
            var handle = $"@quixote_{i}_x";
            var ip = $"203.0.{i % 250}.{i % 200}";
            var device = $"dev-secret-{i:D5}-{Guid.NewGuid():N}";
            var transcript = $"TRANSCRIPT-MARKER-{i} my card number is 4111";
            var text = $"SOCIALTEXT-MARKER-{i} love it";
            var loyalty = $"LOYAL-{i:D6}";
            secrets.AddRange([email, email.ToLowerInvariant(), phone, name, handle, handle.TrimStart('@'), ip, device, transcript, text, loyalty,
                "query-secret-" + i]);
            var badEmail = $"broken.{i}@@leak-test";
            secrets.Add(badEmail);
            inputs.Add((topics.Names.Clickstream, SampleEvents.Clickstream($"c{i}", device, email, ip, "Mozilla/5.0 (iPhone)",
                $"https://shop.example/shoes/p1?utm=query-secret-{i}")));
            inputs.Add((topics.Names.Store, SampleEvents.Store($"s{i}", loyalty, email, phone, name)));
            inputs.Add((topics.Names.Callcenter, SampleEvents.Callcenter($"k{i}", phone, i % 3 == 0 ? badEmail : email, name, transcript)));
            inputs.Add((topics.Names.Social, SampleEvents.Social($"o{i}", handle, email, text)));
            if (i % 10 == 0)
            {
                inputs.Add((topics.Names.Consent, SampleEvents.Consent($"n{i}", "email", email, "opt_out")));
                // Broken on purpose: the masked copy of a quarantined record must not leak either.
                inputs.Add((topics.Names.Store, SampleEvents.Store($"bad{i}", loyalty, email, phone, name).Replace("\"EUR\"", "12", StringComparison.Ordinal)));
            }
        }

        Produce(inputs);
        var outputTopics = topics.Catalog.All.Where(t => t.Role != Streams.Contracts.Topics.TopicRole.Input).Select(t => t.Name).ToList();
        var worker = host.Get<IngestWorker>();
        await WaitUntilAsync(() => worker.RecordsCommitted >= inputs.Count);
        var outputs = outputTopics.SelectMany(t => TopicReader.ReadAll(kafka.BootstrapServers, t)).ToList();
        Assert.True(outputs.Count >= inputs.Count, $"{outputs.Count} outputs for {inputs.Count} inputs");

        var haystack = string.Join('\n', outputs.Select(r =>
            (r.Message.Key is null ? "" : Encoding.UTF8.GetString(r.Message.Key)) + " " + (r.Message.Value is null ? "" : Encoding.UTF8.GetString(r.Message.Value)) +
            " " + string.Join(' ', r.Message.Headers.Select(h => Encoding.UTF8.GetString(h.GetValueBytes())))));
        var logs = host.Logs.Text;
        Assert.NotEmpty(logs);
        // One pass over each text for all 7,800 values (a scan per value took most of this test's minute and a half).
        var search = SearchValues.Create([.. secrets.Distinct()], StringComparison.OrdinalIgnoreCase);
        PrivacyScan.AssertClean("an output topic", haystack, search);
        PrivacyScan.AssertClean("the logs", logs, search);
    }

    [Fact]
    public async Task FlaggedDuplicateAndConsent_GoWhereTheContractSays()
    {
        // One partition: which of two records with one id comes first is only defined within a partition (seen: the
        // second one, on another partition, was read first and the first became the duplicate).
        var topics = await TestTopics.CreateAsync(kafka, partitions: 1);
        await using var host = await InProcessHost.StartAsync(kafka, postgres, topics);
        Produce(
        [
            (topics.Names.Clickstream, SampleEvents.Clickstream("same-id", "device-1", email: "not-an-email")),
            (topics.Names.Clickstream, SampleEvents.Clickstream("same-id", "device-2")),
            (topics.Names.Social, SampleEvents.Social("same-id", "@someone")),
            (topics.Names.Consent, SampleEvents.Consent("consent-1", "email", "Jane.Doe@Example.COM", "erase")),
        ]);

        var canonical = await TopicReader.WaitForAsync(kafka.BootstrapServers, [topics.Names.Canonical], r => r.Count >= 3, Patience);
        var quarantine = await TopicReader.WaitForAsync(kafka.BootstrapServers, [$"{topics.Names.Clickstream}.quarantine"], r => r.Count >= 2, Patience);

        // The first clickstream event is flagged (used without its email); the second, same id, is a duplicate.
        // The social event with the same id is on another topic, so it is not a duplicate.
        Assert.Equal(3, canonical.Count);
        var kinds = canonical.Select(r => OutputHeaders.Read(r.Message.Headers)!.Value.Kind).Order().ToList();
        Assert.Equal(["consent", "event", "event"], kinds);
        var consent = canonical.Single(r => OutputHeaders.Read(r.Message.Headers)!.Value.Kind == "consent");
        Assert.Contains("k1:39b1afb632528e3dbf5a96cf7207fb42", Encoding.UTF8.GetString(consent.Message.Value!), StringComparison.Ordinal);

        var dispositions = quarantine.Select(r => JsonDocument.Parse(r.Message.Value!).RootElement).ToList();
        Assert.Contains(dispositions, d => d.GetProperty("disposition").GetString() == "flagged"
            && d.GetProperty("reasons")[0].GetProperty("code").GetString() == "invalid_email");
        Assert.Contains(dispositions, d => d.GetProperty("disposition").GetString() == "quarantined"
            && d.GetProperty("reasons").EnumerateArray().Any(r => r.GetProperty("code").GetString() == "duplicate_event"));
    }

    private void Produce(IEnumerable<(string Topic, string Value)> records)
    {
        using var producer = new ProducerBuilder<Null, string>(new ProducerConfig { BootstrapServers = kafka.BootstrapServers, LingerMs = 5 }).Build();
        foreach (var (topic, value) in records)
        {
            producer.Produce(topic, new Message<Null, string> { Value = value });
        }

        Assert.Equal(0, producer.Flush(Patience));
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!condition() && clock.Elapsed < Patience)
        {
            await Task.Delay(100);
        }

        Assert.True(condition(), "timed out");
    }
}
