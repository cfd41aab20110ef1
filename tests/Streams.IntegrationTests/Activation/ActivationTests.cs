using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Streams.Contracts.Topics;
using Streams.IntegrationTests.Fixtures;
using Streams.IntegrationTests.Pipeline;
using Streams.Simulator;
using Streams.Simulator.Publishing;

namespace Streams.IntegrationTests.Activation;

/// <summary>
/// A campaign system's list, with the simulator's customers spelled as a CRM spells them, joined through the whole host:
/// current segments for consenting customers, one identical "unknown" for everyone else, and no raw value of the list
/// anywhere but the request topic.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed class ActivationTests(KafkaFixture kafka, PostgresFixture postgres)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);
    private const string Requester = "crm-test";

    [Fact]
    public async Task CrmList_ThroughTheWholeHost_GetsCurrentSegments_SaysNothingAboutOthers_AndLeavesNoRawValue()
    {
        var topics = await TestTopics.CreateAsync(kafka, partitions: 2);
        var truthPath = Path.Combine(Path.GetTempPath(), $"streams-truth-{Guid.NewGuid():N}.json");
        var groups = KafkaFixture.Unique("act");
        await using var host = await InProcessHost.StartAsync(kafka, postgres, topics,
            "--Simulator:Enabled=true", "--Simulator:Waves=1", "--Simulator:Seed=18", "--Simulator:Run=18",
            "--Simulator:Customers=40", "--Simulator:EventsPerCustomer=10", "--Simulator:ConsentRequestRate=0",
            "--Simulator:SharedLoyaltyFamilies=0", $"--Simulator:GroundTruth={truthPath}",
            $"--Ingest:GroupId={groups}-ingest", $"--Profiles:GroupId={groups}-profiles", $"--Segmentation:GroupId={groups}-segmentation",
            $"--Activation:GroupId={groups}-activation", "--Activation:MaxBatchWait=00:00:00.050",
            "--Profiles:MaxBatchWait=00:00:00.050", "--Segmentation:MinEvents=3", "--Segmentation:SeedSize=20", "--Segmentation:K=3",
            "--Segmentation:MinSegmentSize=1", "--Segmentation:MiniBatchSize=50", "--Segmentation:MaxBatchWait=00:00:00.200");
        try
        {
            var simulator = host.Get<SimulatorWorker>();
            await WaitUntilAsync(() => simulator.Truth is not null, "the simulator's finite run");
            var truth = GroundTruthWriter.Read(truthPath)!;
            await new GroundTruthAssertions(kafka.BootstrapServers, 1, 3).WaitForDrainAsync(topics.Catalog, groups, host.ConnectionString, truth.Records, Patience);

            // Customers whose email and phone lead to one profile with a published segment.
            var segmented = (await Database.RowsAsync(host.ConnectionString, """
                    select i.pseudonym, i.profile_id, a.segment_id, a.model_version, a.assignment->>'summary'
                    from identifiers i join segment_assignments a on a.profile_id = i.profile_id where a.published
                    """))
                .ToDictionary(r => (string)r[0]!, r => (Profile: (string)r[1]!, Segment: (int)r[2]!, Version: (long)r[3]!, Summary: (string)r[4]!));
            var candidates = truth.Customers
                .Where(c => c.FamilyId is null && Id(c, "email") is not null && Id(c, "phone") is { } phone && phone.StartsWith("+49", StringComparison.Ordinal))
                .Where(c => segmented.TryGetValue(Pseudonym(c, "email"), out var e) && segmented.TryGetValue(Pseudonym(c, "phone"), out var p) && e.Profile == p.Profile)
                .Take(6).ToList();
            Assert.True(candidates.Count == 6, $"only {candidates.Count} segmented customers with an email and a phone");
            var (known, optedOut, erased) = (candidates[..4], candidates[4], candidates[5]);

            using var feed = new InputFeed(kafka.BootstrapServers);
            feed.Send([(topics.Names.Consent, Consent("act-1", "email", Id(optedOut, "email")!, "opt_out")),
                       (topics.Names.Consent, Consent("act-2", "phone", Id(erased, "phone")!, "erase"))]);
            await WaitUntilAsync(async () =>
                await Database.CountAsync(host.ConnectionString, $"select count(*) from identifiers where pseudonym = '{Pseudonym(erased, "email")}'") == 0
                && await Database.CountAsync(host.ConnectionString, $"""
                    select count(*) from identifiers i join profiles p on p.profile_id = i.profile_id
                    where i.pseudonym = '{Pseudonym(optedOut, "email")}' and not p.personalization_allowed
                    """) == 1, "the opt-out and the erasure");

            // The list: CRM spellings (case, spaces, national phone formatting), and a customer nobody knows.
            var sent = new List<string>();
            var rows = new List<string>();
            string Row(string list, string record, int? segment, params (string Type, string Value)[] identifiers)
            {
                sent.AddRange(identifiers.Select(i => i.Value));
                return JsonSerializer.Serialize(new Dictionary<string, object?>
                {
                    ["list_id"] = list, ["record_id"] = record, ["requested_by"] = Requester, ["segment_id"] = segment,
                    ["identifiers"] = identifiers.Select(i => new Dictionary<string, string> { ["type"] = i.Type, ["value"] = i.Value }).ToList(),
                });
            }

            for (var i = 0; i < known.Count; i++)
            {
                rows.Add(Row("list-a", $"crm-{i}", null, ("email", CrmEmail(known[i])), ("phone", CrmPhone(known[i]))));
            }

            var unknownEmail = $"Nobody.{Guid.NewGuid():N}@Example.org";
            rows.Add(Row("list-a", "crm-optout", null, ("email", CrmEmail(optedOut))));
            rows.Add(Row("list-a", "crm-erased", null, ("email", CrmEmail(erased)), ("phone", CrmPhone(erased))));
            rows.Add(Row("list-a", "crm-unknown", null, ("email", " " + unknownEmail), ("loyalty", "zz-act-0018")));
            var wanted = segmented[Pseudonym(known[0], "email")].Segment;
            rows.Add(Row("list-b", "crm-0", wanted, ("email", CrmEmail(known[0]))));
            rows.Add(Row("list-b", "crm-1", wanted, ("phone", CrmPhone(known[1]))));
            // A record id that is the customer's email: refused, never answered.
            var personalId = Id(known[2], "email")!;
            rows.Add(Row("list-a", personalId, null, ("email", CrmEmail(known[2]))));
            feed.Send(rows.Select(r => (topics.Names.ActivationRequests, r)));

            var answers = await TopicReader.WaitForAsync(kafka.BootstrapServers, [topics.Names.ActivationResponses], r => r.Count >= 9, Patience);
            var quarantine = await TopicReader.WaitForAsync(kafka.BootstrapServers, [TopicsOptions.QuarantineOf(topics.Names.ActivationRequests)], r => r.Count >= 1, Patience);
            Assert.Equal(9, answers.Count);
            var byList = answers.Select(a => (Key: Encoding.UTF8.GetString(a.Message.Key!), Text: Encoding.UTF8.GetString(a.Message.Value!)))
                .Select(a => (a.Key, a.Text, Json: JsonDocument.Parse(a.Text).RootElement))
                .ToDictionary(a => (a.Json.GetProperty("list_id").GetString()!, a.Key));

            for (var i = 0; i < known.Count; i++)
            {
                var expected = segmented[Pseudonym(known[i], "email")];
                var answer = byList[("list-a", $"crm-{i}")].Json;
                Assert.Equal("matched", answer.GetProperty("status").GetString());
                Assert.Equal(expected.Segment, answer.GetProperty("segment_id").GetInt32());
                Assert.Equal(expected.Version, answer.GetProperty("model_version").GetInt64());
                Assert.Equal(expected.Summary, answer.GetProperty("summary").GetString());
                Assert.True(answer.GetProperty("personalization_allowed").GetBoolean());
            }

            // Opted out, erased and never seen: one answer, byte for byte, but for the record id.
            var unknowns = new[] { "crm-optout", "crm-erased", "crm-unknown" }
                .Select(id => byList[("list-a", id)].Text.Replace($"\"{id}\"", "\"*\"", StringComparison.Ordinal)).Distinct().ToList();
            Assert.Equal(["""{"record_id":"*","list_id":"list-a","status":"unknown","segment_id":null,"model_version":null,"summary":null,"personalization_allowed":false}"""], unknowns);

            // Members of one segment among a list.
            Assert.Equal("matched", byList[("list-b", "crm-0")].Json.GetProperty("status").GetString());
            Assert.Equal(segmented[Pseudonym(known[1], "email")].Segment == wanted ? "matched" : "unknown",
                byList[("list-b", "crm-1")].Json.GetProperty("status").GetString());

            using (var refused = JsonDocument.Parse(quarantine.Single().Message.Value))
            {
                Assert.Equal("personal_data_in_id", refused.RootElement.GetProperty("reasons")[0].GetProperty("code").GetString());
                Assert.Equal(JsonValueKind.Null, refused.RootElement.GetProperty("record").ValueKind);
            }

            Assert.Equal(
                new object?[][]
                {
                    ["list-a", Requester, 7L, 4L, 0L],
                    ["list-b", Requester, 2L, segmented[Pseudonym(known[1], "email")].Segment == wanted ? 2L : 1L, 0L],
                },
                (await Database.RowsAsync(host.ConnectionString, "select list_id, requested_by, rows, matched, refused from activation_audit order by list_id"))
                    .Select(r => r.ToArray()));

            // The same list from a script: the activate command writes the record ids of segment `wanted`'s members.
            var listFile = Path.Combine(Path.GetTempPath(), $"crm-list-{Guid.NewGuid():N}.csv");
            var outFile = listFile + ".out";
            await File.WriteAllLinesAsync(listFile, [
                "record_id,email,phone",
                .. known.Select((c, i) => $"crm-{i},{CrmEmail(c)},{CrmPhone(c)}"),
                $"crm-optout,{CrmEmail(optedOut)},", $"crm-erased,{CrmEmail(erased)},{CrmPhone(erased)}", $"crm-unknown,{unknownEmail},",
                $"{personalId},{CrmEmail(known[2])},",
            ]);
            try
            {
                string[] settings = [$"--ConnectionStrings:Profiles={host.ConnectionString}", "--Pseudonymization:ActiveKeyId=k1",
                    $"--Pseudonymization:Keys:k1={InProcessHost.TestKey}"];
                var (exit, output, errors) = await HostCommand.RunAsync(
                    ["activate", "--list", listFile, "--segment", wanted.ToString(CultureInfo.InvariantCulture), "--out", outFile, .. settings]);
                Assert.True(exit == 0, errors);
                Assert.Equal(
                    known.Select((c, i) => (Id: $"crm-{i}", Segment: segmented[Pseudonym(c, "email")].Segment)).Where(k => k.Segment == wanted).Select(k => k.Id),
                    await File.ReadAllLinesAsync(outFile));
                Assert.Contains("line 9: refused (personal_data_in_id, record_id)", errors, StringComparison.Ordinal);
                PrivacyScan.AssertClean("the activate command's output", output + errors, SearchValues.Create([personalId, unknownEmail], StringComparison.OrdinalIgnoreCase));

                // An identifier where the file belongs is refused without being echoed.
                (exit, output, errors) = await HostCommand.RunAsync(["activate", "--list", listFile, personalId, .. settings]);
                Assert.Equal(2, exit);
                Assert.DoesNotContain(personalId, output + errors, StringComparison.OrdinalIgnoreCase);
            }
            finally
            {
                File.Delete(listFile);
                File.Delete(outFile);
            }

            await AssertNoRawValueAsync(host, topics, [.. sent, personalId, unknownEmail.ToLowerInvariant(), .. known.Select(c => Id(c, "phone")![3..])],
                [unknownEmail, "zz-act-0018"]);
        }
        finally
        {
            File.Delete(truthPath);
        }
    }

    [Fact]
    public async Task OnlyActivation_OnAFreshDatabase_AnswersUnknown_AndAuditsTheList()
    {
        var topics = await TestTopics.CreateAsync(kafka, partitions: 1);
        var group = KafkaFixture.Unique("act-only");
        await using var host = await InProcessHost.StartAsync(kafka, postgres, topics, "--only", "activation",
            $"--Activation:GroupId={group}", "--Activation:MaxBatchWait=00:00:00.050");
        using (var feed = new InputFeed(kafka.BootstrapServers))
        {
            feed.Send([(topics.Names.ActivationRequests,
                """{"list_id":"fresh","record_id":"r-1","requested_by":"ops","identifiers":[{"type":"email","value":"someone@example.net"}]}""")]);
        }

        var answers = await TopicReader.WaitForAsync(kafka.BootstrapServers, [topics.Names.ActivationResponses], r => r.Count >= 1, Patience);

        // The profiles and segmentation tables it reads exist although their workers do not run here.
        Assert.Equal("""{"record_id":"r-1","list_id":"fresh","status":"unknown","segment_id":null,"model_version":null,"summary":null,"personalization_allowed":false}""",
            Encoding.UTF8.GetString(Assert.Single(answers).Message.Value!));
        Assert.Equal("r-1", Encoding.UTF8.GetString(answers[0].Message.Key!));
        Assert.Equal([["fresh", "ops", 1L, 0L]],
            (await Database.RowsAsync(host.ConnectionString, "select list_id, requested_by, rows, matched from activation_audit")).Select(r => r.ToArray()).ToArray());
    }

    /// <summary>
    /// None of <paramref name="listValues"/> in an output topic, a table or the logs; none of <paramref name="listOnly"/>
    /// (values that only the list holds) in any topic but the request topic.
    /// </summary>
    private async Task AssertNoRawValueAsync(InProcessHost host, TestTopics topics, IReadOnlyList<string> listValues, IReadOnlyList<string> listOnly)
    {
        await PrivacyScan.AssertOutputsCleanAsync(kafka.BootstrapServers, host, topics.Catalog,
            SearchValues.Create([.. listValues.Select(v => v.Trim()).Distinct()], StringComparison.OrdinalIgnoreCase));
        var onlyInList = SearchValues.Create([.. listOnly.Select(v => v.Trim()).Distinct()], StringComparison.OrdinalIgnoreCase);
        foreach (var topic in topics.Catalog.All.Where(t => t.Name != topics.Names.ActivationRequests))
        {
            PrivacyScan.AssertClean($"topic {topic.Name}", PrivacyScan.TopicText(kafka.BootstrapServers, topic.Name), onlyInList);
        }
    }

    private static string? Id(CustomerTruth customer, string type) => customer.Identifiers.FirstOrDefault(i => i.Type == type)?.Value;

    private static string Pseudonym(CustomerTruth customer, string type) =>
        GroundTruthAssertions.Pseudonym(customer.Identifiers.First(i => i.Type == type));

    // As a CRM keeps them: capitals and stray spaces; the simulator's German numbers (+49) dialled internationally
    // with 00 and grouped, where the events wrote them otherwise.
    private static string CrmEmail(CustomerTruth customer) => "  " + Id(customer, "email")!.ToUpperInvariant() + " ";

    private static string CrmPhone(CustomerTruth customer)
    {
        var national = Id(customer, "phone")![3..];
        return $"0049 {national[..2]} {national[2..6]}-{national[6..]}";
    }

    private static string Consent(string eventId, string type, string identifier, string action) => JsonSerializer.Serialize(new Dictionary<string, string>
    {
        ["event_id"] = eventId, ["occurred_at"] = DateTimeOffset.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
        ["identifier_type"] = type, ["identifier"] = identifier, ["action"] = action,
    });

    private static Task WaitUntilAsync(Func<bool> condition, string what) => WaitUntilAsync(() => Task.FromResult(condition()), what);

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition() && clock.Elapsed < Patience)
        {
            await Task.Delay(200);
        }

        Assert.True(await condition(), $"timed out waiting for {what}");
    }
}
