using System.Diagnostics;
using System.Text.Json;
using Confluent.Kafka;
using Streams.IntegrationTests.Fixtures;
using Streams.Profiles.Worker;

namespace Streams.IntegrationTests.Profiles;

/// <summary>Raw channel events through ingest and the profiles worker together, as the host runs them.</summary>
[Collection(IntegrationCollection.Name)]
public sealed class PipelineProfilesTests(KafkaFixture kafka, PostgresFixture postgres)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task SharedLoyaltyCard_RaisesIdentityConflict_AndWhoisShowsWhatIsHeld()
    {
        var topics = await TestTopics.CreateAsync(kafka, partitions: 2);
        await using var host = await InProcessHost.StartAsync(kafka, postgres, topics);
        var inputs = new List<(string Topic, string Value)>();
        // Eight people share one family loyalty card, each with an email of their own.
        for (var i = 0; i < 8; i++)
        {
            inputs.Add((topics.Names.Store, SampleEvents.Store($"shared-{i}", loyaltyId: "FAMILY-CARD", email: $"member{i}@example.com")));
        }

        inputs.Add((topics.Names.Clickstream, SampleEvents.Clickstream("web-1", "device-jane", "Jane.Doe@Example.COM")));
        inputs.Add((topics.Names.Callcenter, SampleEvents.Callcenter("call-1", "(555) 010-4477", "jane.doe@example.com")));
        using (var producer = new ProducerBuilder<Null, string>(new ProducerConfig { BootstrapServers = kafka.BootstrapServers }).Build())
        {
            foreach (var (topic, value) in inputs)
            {
                // One at a time: the order of the family's events decides who gets linked before the cap.
                await producer.ProduceAsync(topic, new Message<Null, string> { Value = value });
            }
        }

        var metrics = host.Get<ProfilesMetrics>();
        var clock = Stopwatch.StartNew();
        while (metrics.Records < inputs.Count && clock.Elapsed < Patience)
        {
            await Task.Delay(100);
        }

        Assert.Equal(inputs.Count, metrics.Records);
        var conflicts = await TopicReader.WaitForAsync(kafka.BootstrapServers, [topics.Names.Store + ".quarantine"], r => r.Count >= 3, Patience);
        var records = conflicts.Select(r => JsonDocument.Parse(r.Message.Value!).RootElement).ToList();
        Assert.Equal(3, records.Count);
        Assert.All(records, r =>
        {
            Assert.Equal("flagged", r.GetProperty("disposition").GetString());
            Assert.Equal("identity_conflict", r.GetProperty("reasons")[0].GetProperty("code").GetString());
            Assert.Equal(topics.Names.Store, r.GetProperty("source").GetProperty("topic").GetString());
        });
        Assert.Equal(5, await Database.CountAsync(host.ConnectionString,
            "select max(n) from (select count(*) as n from identifiers where type = 'email' group by profile_id) c"));

        var whois = await WhoisAsync(host, "email", "  JANE.doe@example.com ");
        var profile = whois.GetProperty("profile");
        Assert.True(whois.GetProperty("found").GetBoolean());
        Assert.Equal(1, profile.GetProperty("identifiers").GetProperty("email").GetInt32());
        Assert.Equal(1, profile.GetProperty("identifiers").GetProperty("phone").GetInt32());
        Assert.Equal(1, profile.GetProperty("identifiers").GetProperty("device").GetInt32());
        Assert.Equal(1, profile.GetProperty("event_counts").GetProperty("callcenter").GetInt32());
        Assert.True(profile.GetProperty("personalization_allowed").GetBoolean());
        // Both of Jane's events are kept for undoing merges (Identity:LineageRetention), and whois says so.
        Assert.Equal(2, profile.GetProperty("kept_events").GetInt64());

        // Too few events for a segment yet; once segmentation has one for the profile, whois shows it (read through the
        // segmentation capability's reader, not by the profiles code).
        Assert.Equal(JsonValueKind.Null, profile.GetProperty("segment").ValueKind);
        await Database.RowsAsync(host.ConnectionString, $$"""
            insert into segment_assignments (profile_id, raw, segment_id, model_version, published, assignment, assigned_at)
            values ('{{profile.GetProperty("profile_id").GetString()}}', '{0}', 3, 1, true, '{"segment_id":3,"summary":"Buys shoes."}', now())
            """);
        var segment = (await WhoisAsync(host, "email", "jane.doe@example.com")).GetProperty("profile").GetProperty("segment");
        Assert.Equal((3, "Buys shoes."), (segment.GetProperty("segment_id").GetInt32(), segment.GetProperty("summary").GetString()));

        var nobody = await WhoisAsync(host, "phone", "+44 20 7946 0000");
        Assert.False(nobody.GetProperty("found").GetBoolean());
    }

    private static async Task<JsonElement> WhoisAsync(InProcessHost host, string type, string value)
    {
        var (exitCode, output, errors) = await HostCommand.RunWithInputAsync(value + "\n", "whois", type,
            $"--ConnectionStrings:Profiles={host.ConnectionString}", "--Pseudonymization:ActiveKeyId=k1",
            $"--Pseudonymization:Keys:k1={InProcessHost.TestKey}", "--Kafka:BootstrapServers=unused:9092");
        Assert.True(exitCode == 0, errors + output);
        Assert.DoesNotContain(value.Trim(), output, StringComparison.OrdinalIgnoreCase);
        return JsonDocument.Parse(output).RootElement.Clone();
    }
}
