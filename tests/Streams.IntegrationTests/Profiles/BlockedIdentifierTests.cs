using System.Diagnostics;
using System.Text.Json;
using Confluent.Kafka;
using Streams.IntegrationTests.Fixtures;
using Streams.Profiles.Worker;

namespace Streams.IntegrationTests.Profiles;

/// <summary>Identifiers that never link profiles: configured in ingest (<c>Identity:Blocked</c>), or marked shared by the profiles worker.</summary>
[Collection(IntegrationCollection.Name)]
public sealed class BlockedIdentifierTests(KafkaFixture kafka, PostgresFixture postgres)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task TwoCustomersGivingTheBlockedTestAddress_StayTwoProfiles_AndEachRefusalIsQuarantined()
    {
        var topics = await TestTopics.CreateAsync(kafka, partitions: 2);
        await using var host = await InProcessHost.StartAsync(kafka, postgres, topics, "--Identity:Blocked:Values:email:0=Test@Example.com");
        (string Topic, string Value)[] inputs =
        [
            (topics.Names.Store, SampleEvents.Store("pos-a", loyaltyId: "CARD-A", email: "test@example.com")),
            (topics.Names.Store, SampleEvents.Store("pos-b", loyaltyId: "CARD-B", email: " TEST@example.com")),
        ];
        await ProduceAsync(inputs);

        await WaitForRecordsAsync(host, inputs.Length);
        var quarantine = await TopicReader.WaitForAsync(kafka.BootstrapServers, [topics.Names.Store + ".quarantine"], r => r.Count >= 2, Patience);
        Assert.Equal(2, quarantine.Count);
        Assert.All(quarantine.Select(r => JsonDocument.Parse(r.Message.Value!).RootElement), r =>
        {
            Assert.Equal("flagged", r.GetProperty("disposition").GetString());
            Assert.Equal("identity_conflict", r.GetProperty("reasons")[0].GetProperty("code").GetString());
            Assert.Equal("email", r.GetProperty("reasons")[0].GetProperty("field").GetString());
        });
        Assert.Equal(2, await Database.CountAsync(host.ConnectionString, "select count(*) from profiles"));
        Assert.Equal(0, await Database.CountAsync(host.ConnectionString, "select count(*) from identifiers where type = 'email'"));
    }

    [Fact]
    public async Task ACardBesideWhichTheCapsKeepRefusingEmails_IsMarkedShared_AndThenRefusedForEveryone()
    {
        // One partition: the order of the card's sales decides when it reaches the threshold.
        var topics = await TestTopics.CreateAsync(kafka, partitions: 1);
        await using var host = await InProcessHost.StartAsync(kafka, postgres, topics,
            "--Identity:MaxPerType:email=1", "--Identity:SharedAfterRefusals=2");
        var inputs = Enumerable.Range(0, 4)
            .Select(i => (topics.Names.Store, SampleEvents.Store($"family-{i}", loyaltyId: "FAMILY-CARD", email: $"member{i}@example.com")))
            .Append((topics.Names.Store, SampleEvents.Store("family-card-alone", loyaltyId: "FAMILY-CARD")))
            .ToArray();
        await ProduceAsync(inputs);

        await WaitForRecordsAsync(host, inputs.Length);
        // member1 and member2 are refused by the email cap beside the card (its 2nd refusal marks it shared); member3's sale
        // and the card alone are refused because the card is shared.
        var quarantine = await TopicReader.WaitForAsync(kafka.BootstrapServers, [topics.Names.Store + ".quarantine"], r => r.Count >= 4, Patience);
        var details = quarantine.Select(r => JsonDocument.Parse(r.Message.Value!).RootElement.GetProperty("reasons")[0])
            .Select(r => (r.GetProperty("code").GetString(), r.GetProperty("field").GetString(), r.GetProperty("detail").GetString()!.Contains("shared", StringComparison.Ordinal)))
            .ToList();
        Assert.Equal(
            [("identity_conflict", "email", false), ("identity_conflict", "email", false),
             ("identity_conflict", "loyalty", true), ("identity_conflict", "loyalty", true)],
            details);
        Assert.Equal(4, host.Get<ProfilesMetrics>().Conflicts);
        var card = Assert.Single(await Database.RowsAsync(host.ConnectionString, "select refusals, shared_at is not null from identifiers where type = 'loyalty'"));
        Assert.Equal([2, true], card);
        // The family's first member, and member3 on a profile of their own rather than through the card.
        Assert.Equal(2, await Database.CountAsync(host.ConnectionString, "select count(*) from profiles"));
    }

    private async Task ProduceAsync(IEnumerable<(string Topic, string Value)> inputs)
    {
        using var producer = new ProducerBuilder<Null, string>(new ProducerConfig { BootstrapServers = kafka.BootstrapServers }).Build();
        foreach (var (topic, value) in inputs)
        {
            await producer.ProduceAsync(topic, new Message<Null, string> { Value = value });
        }
    }

    private static async Task WaitForRecordsAsync(InProcessHost host, int count)
    {
        var metrics = host.Get<ProfilesMetrics>();
        var clock = Stopwatch.StartNew();
        while (metrics.Records < count && clock.Elapsed < Patience)
        {
            await Task.Delay(100);
        }

        Assert.Equal(count, metrics.Records);
    }
}
