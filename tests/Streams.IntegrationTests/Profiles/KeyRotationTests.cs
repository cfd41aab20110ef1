using System.Diagnostics;
using System.Text.Json;
using Streams.IntegrationTests.Fixtures;
using Streams.Profiles.Worker;

namespace Streams.IntegrationTests.Profiles;

/// <summary>
/// Issue 16 item 1 through the real host: a stream under key k1 (normalization v1, the phone rule before
/// libphonenumber), a rotation window with k2 (v2) active and k1 previous, then k1 removed. Nobody is split.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed class KeyRotationTests(KafkaFixture kafka, PostgresFixture postgres)
{
    private const string KeyB = "ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CBgoM=";

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    private static readonly string[] KeyA = ["--Pseudonymization:ActiveKeyId=k1", $"--Pseudonymization:Keys:k1={InProcessHost.TestKey}",
        "--Pseudonymization:NormalizationVersion=1"];

    private static readonly string[] Window = ["--Pseudonymization:ActiveKeyId=k2", $"--Pseudonymization:Keys:k2={KeyB}",
        $"--Pseudonymization:Keys:k1={InProcessHost.TestKey}", "--Pseudonymization:PreviousKeyId=k1", "--Pseudonymization:PreviousNormalizationVersion=1"];

    private static readonly string[] KeyBOnly = ["--Pseudonymization:ActiveKeyId=k2", $"--Pseudonymization:Keys:k2={KeyB}"];

    [Fact]
    public async Task Rotation_CustomersStayOneProfile_ConsentAndErasureFindThemUnderEitherKey()
    {
        var topics = await TestTopics.CreateAsync(kafka, partitions: 1);
        var t = topics.Names;
        string connectionString;
        string ann;
        using var feed = new InputFeed(kafka.BootstrapServers);

        // Before: key k1, phones as before libphonenumber: the national-prefix spelling is a profile of its own.
        await using (var host = await InProcessHost.StartAsync(kafka, postgres, topics, KeyA))
        {
            connectionString = host.ConnectionString;
            await SendAndWaitAsync(host, feed,
                (t.Clickstream, SampleEvents.Clickstream("a-1", "device-ann", "ann@example.com")),
                (t.Callcenter, SampleEvents.Callcenter("a-2", "1 212 555 0100")),
                (t.Store, SampleEvents.Store("b-1", loyaltyId: "BOB-1", email: "bob@example.com")),
                (t.Store, SampleEvents.Store("c-1", loyaltyId: "CARA-1")));
            Assert.Equal(4, await ProfilesAsync(connectionString));
        }

        // The window: k2 and normalization v2 active, k1 and v1 previous.
        await using (var host = await InProcessHost.RestartAsync(kafka, topics, connectionString, Window))
        {
            await SendAndWaitAsync(host, feed,
                (t.Callcenter, SampleEvents.Callcenter("a-3", "+1 212 555 0100", "ann@example.com")),
                // The spelling that was a profile of its own: one E.164 number now, and its old pseudonym joins Ann.
                (t.Callcenter, SampleEvents.Callcenter("a-4", "1 212 555 0100")),
                (t.Store, SampleEvents.Store("b-2", loyaltyId: "bob-1")));
            // After the events: topics are consumed in parallel, so a request sent with them could overtake them.
            await SendAndWaitAsync(host, feed,
                (t.Consent, SampleEvents.Consent("a-optout", "phone", "(212) 555-0100", "opt_out")),
                // Cara was seen under k1 only: the erasure finds her through k1.
                (t.Consent, SampleEvents.Consent("c-erase", "loyalty", "cara-1", "erase")));

            Assert.Equal(2, await ProfilesAsync(connectionString));
            // Ann's web visit, her three calls (two spellings of her number, one of them a profile of its own before), one profile.
            var annNow = await ProfileAsync(connectionString, "callcenter", 3);
            ann = annNow.Id;
            Assert.Equal(1, annNow.Clickstream);
            Assert.False(annNow.PersonalizationAllowed);
            // Every identifier counted once: an email, a phone and a device, each also linked under its other key.
            var counted = await Database.RowsAsync(connectionString,
                $"select type, count(*) from identifiers where profile_id = '{ann}' and alias_of is null group by type order by type");
            Assert.Equal(["device:1", "email:1", "phone:1"], counted.Select(r => $"{r[0]}:{r[1]}"));

            var whois = await WhoisAsync(connectionString, "email", "ANN@example.com", Window);
            Assert.Equal(1, whois.GetProperty("profile").GetProperty("identifiers").GetProperty("phone").GetInt32());
            Assert.Equal(3, whois.GetProperty("profile").GetProperty("event_counts").GetProperty("callcenter").GetInt32());
        }

        // After the window, k1 removed: events land on the profiles linked during the window.
        await using (var host = await InProcessHost.RestartAsync(kafka, topics, connectionString, KeyBOnly))
        {
            await SendAndWaitAsync(host, feed,
                (t.Callcenter, SampleEvents.Callcenter("a-5", "212-555-0100")),
                (t.Store, SampleEvents.Store("b-3", loyaltyId: "BOB-1", email: "Bob@example.com")));
            await SendAndWaitAsync(host, feed,
                (t.Consent, SampleEvents.Consent("b-erase", "email", "bob@example.com", "erase")));

            Assert.Equal(1, await ProfilesAsync(connectionString));
            var annAfter = await ProfileAsync(connectionString, "callcenter", 4);
            Assert.Equal(ann, annAfter.Id);
            Assert.False(annAfter.PersonalizationAllowed);
            Assert.Equal(["a-optout:applied", "b-erase:erased", "c-erase:erased"],
                (await Database.RowsAsync(connectionString, "select event_id, outcome from consent_audit order by event_id")).Select(r => $"{r[0]}:{r[1]}"));
            Assert.Equal(0, await Database.CountAsync(connectionString, $"select count(*) from identifiers where profile_id <> '{ann}'"));
        }
    }

    private static async Task SendAndWaitAsync(InProcessHost host, InputFeed feed, params (string Topic, string Value)[] records)
    {
        var metrics = host.Get<ProfilesMetrics>();
        var expected = metrics.Records + records.Length;
        feed.Send(records);
        var clock = Stopwatch.StartNew();
        while (metrics.Records < expected && clock.Elapsed < Patience)
        {
            await Task.Delay(100);
        }

        Assert.Equal(expected, metrics.Records);
    }

    private static Task<long> ProfilesAsync(string connectionString) => Database.CountAsync(connectionString, "select count(*) from profiles");

    /// <summary>The one profile with <paramref name="count"/> events of <paramref name="channel"/>.</summary>
    private static async Task<(string Id, long Clickstream, bool PersonalizationAllowed)> ProfileAsync(string connectionString, string channel, int count)
    {
        var row = Assert.Single(await Database.RowsAsync(connectionString,
            $"select profile_id, (aggregate->'event_counts'->>'clickstream')::bigint, personalization_allowed from profiles " +
            $"where (aggregate->'event_counts'->>'{channel}')::int = {count}"));
        return ((string)row[0]!, (long)row[1]!, (bool)row[2]!);
    }

    private static async Task<JsonElement> WhoisAsync(string connectionString, string type, string value, string[] keys)
    {
        var (exitCode, output, errors) = await HostCommand.RunWithInputAsync(value + "\n",
            ["whois", type, $"--ConnectionStrings:Profiles={connectionString}", "--Kafka:BootstrapServers=unused:9092", .. keys]);
        Assert.True(exitCode == 0, errors + output);
        var result = JsonDocument.Parse(output).RootElement.Clone();
        Assert.True(result.GetProperty("found").GetBoolean());
        return result;
    }
}
