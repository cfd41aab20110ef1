using System.Buffers;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using Streams.Contracts.Topics;
using Streams.Infrastructure.Kafka;
using Streams.IntegrationTests.Fixtures;
using Streams.Ingest;
using Streams.Ingest.Pseudonymization;
using Streams.Simulator;
using Streams.Simulator.Publishing;

namespace Streams.IntegrationTests.Pipeline;

/// <summary>
/// The whole host (ingest, profiles, segmentation) fed by its own simulator worker, then scored against the simulator's
/// ground truth: quarantine counts per code, one profile per customer, segments with explanations, and no raw personal
/// value anywhere the pipeline writes.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed class SimulatedTrafficTests(KafkaFixture kafka, PostgresFixture postgres, Xunit.Abstractions.ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    // CONTRACT §4 dispositions; invalid_email and invalid_phone are flagged, or quarantined when they were the only identifier.
    private static readonly HashSet<string> Quarantining =
        ["malformed_json", "oversized_record", "schema_violation", "future_timestamp", "out_of_range", "unknown_currency", "duplicate_event"];

    private static readonly HashSet<string> Flagging = ["total_mismatch", "identity_conflict"];

    private const int MinSegmentSize = 10;

    // Segmentation:MinEvents, at its default: profiles with fewer events get no segment.
    private const int MinEvents = 10;

    // The segments against the simulator's personas (160 customers, k chosen from the data). The segment-quality
    // benchmark measures far more customers; this floor catches a regression of the representation or the learning.
    private const double MinAdjustedRandIndex = 0.85;

    // Identity:MaxPerType:email, left at its default.
    private const int EmailCap = 5;

    [Fact]
    public async Task SimulatedTraffic_ThroughTheWholeHost_MatchesTheGroundTruth_AndLeavesNoRawPersonalData()
    {
        var topics = await TestTopics.CreateAsync(kafka, partitions: 4);
        var truthPath = Path.Combine(Path.GetTempPath(), $"streams-truth-{Guid.NewGuid():N}.json");
        var groups = KafkaFixture.Unique("e2e");
        await using var host = await InProcessHost.StartAsync(kafka, postgres, topics,
            "--Simulator:Enabled=true", "--Simulator:Waves=1", "--Simulator:Seed=2026", "--Simulator:Run=42",
            "--Simulator:Customers=160", "--Simulator:EventsPerCustomer=20", "--Simulator:ConsentRequestRate=0.1",
            "--Simulator:MalformedJsonRate=0.004", "--Simulator:OversizedRecordRate=0.002", "--Simulator:SchemaViolationRate=0.004",
            "--Simulator:InvalidEmailRate=0.004", "--Simulator:InvalidPhoneRate=0.004", "--Simulator:FutureTimestampRate=0.004",
            "--Simulator:OutOfRangeRate=0.004", "--Simulator:UnknownCurrencyRate=0.004", "--Simulator:TotalMismatchRate=0.004",
            "--Simulator:DuplicateEventRate=0.005", "--Simulator:FamilySize=7", $"--Simulator:GroundTruth={truthPath}",
            // Oversized records are made just above this (the simulator reads it), so they stay small for the embedded broker.
            "--Ingest:MaxRecordBytes=65536",
            $"--Ingest:GroupId={groups}-ingest", $"--Profiles:GroupId={groups}-profiles", $"--Segmentation:GroupId={groups}-segmentation",
            "--Profiles:MaxBatchWait=00:00:00.050", $"--Segmentation:MinEvents={MinEvents}", "--Segmentation:SeedSize=100", "--Segmentation:MiniBatchSize=200",
            $"--Segmentation:MinSegmentSize={MinSegmentSize}", "--Segmentation:MaxBatchWait=00:00:00.200");
        try
        {
            var simulator = host.Get<SimulatorWorker>();
            await WaitUntilAsync(() => simulator.Truth is not null, "the simulator's finite run");
            var truth = GroundTruthWriter.Read(truthPath)!;
            Assert.Equal(simulator.Truth!.Records, truth.Records);
            await WaitForDrainAsync(topics.Catalog, groups, host.ConnectionString, truth.Records);

            var catalog = topics.Catalog;
            var names = ContractToConfigured(topics.Names);
            // The simulator's counters say what was written, per topic and per injected code.
            var totals = host.Get<SimulatorMetrics>().Totals;
            Assert.Equal(truth.RecordsPerTopic.ToDictionary(t => names[t.Key], t => t.Value),
                totals.GroupBy(t => t.Key.Topic).ToDictionary(g => g.Key, g => g.Sum(t => t.Value)));
            Assert.Equal(truth.InjectedPerCode.ToDictionary(),
                totals.Where(t => t.Key.Injected != SimulatorMetrics.Clean).GroupBy(t => t.Key.Injected).ToDictionary(g => g.Key, g => g.Sum(t => t.Value)));
            AssertQuarantineMatchesTruth(catalog, truth, names);
            var (profiles, owners) = await AssertOneProfilePerCustomerAsync(host.ConnectionString, truth);
            await AssertConsentingProfilesAreSegmentedAsync(host.ConnectionString, topics.Names, profiles);
            await AssertSegmentsFindThePersonasAsync(host.ConnectionString, owners);
            await AssertNoRawPersonalDataAsync(host, catalog, truth);
        }
        finally
        {
            File.Delete(truthPath);
        }
    }

    private void AssertQuarantineMatchesTruth(TopicCatalog catalog, GroundTruth truth, Dictionary<string, string> names)
    {
        var quarantine = catalog.Inputs.SelectMany(input => TopicReader.ReadAll(kafka.BootstrapServers, TopicsOptions.QuarantineOf(input))
            .Select(r => (Input: input, Json: JsonDocument.Parse(r.Message.Value!).RootElement.Clone()))).ToList();

        var expected = new SortedDictionary<string, long>(truth.InjectedPerCode.ToDictionary(), StringComparer.Ordinal);
        if (truth.ExpectedIdentityConflicts > 0)
        {
            expected["identity_conflict"] = truth.ExpectedIdentityConflicts;
        }

        var actual = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var (_, json) in quarantine)
        {
            var disposition = json.GetProperty("disposition").GetString();
            foreach (var code in Codes(json))
            {
                actual[code] = actual.GetValueOrDefault(code) + 1;
                Assert.True(!Quarantining.Contains(code) || disposition == "quarantined", $"{code} must be quarantined, was {disposition}");
                Assert.True(!Flagging.Contains(code) || disposition == "flagged", $"{code} must be flagged, was {disposition}");
            }
        }

        // Every code of CONTRACT §4 is in the traffic, so a miss anywhere shows.
        Assert.Equal(11, expected.Count);
        Assert.Equal(expected, actual);

        // And record by record: the same event ids on the same topics (ingest cannot read the id of a record it does not parse).
        var unread = new HashSet<string> { "malformed_json", "oversized_record" };
        var expectedIds = truth.Injected
            .SelectMany(i => i.Codes.Select(c => $"{names[i.Topic]}|{(i.Codes.Any(unread.Contains) ? null : i.EventId)}|{c}"))
            .Order(StringComparer.Ordinal).ToList();
        var actualIds = quarantine.SelectMany(q => Codes(q.Json).Where(c => c != "identity_conflict")
            .Select(c => $"{q.Input}|{q.Json.GetProperty("event_id").GetString()}|{c}")).Order(StringComparer.Ordinal).ToList();
        Assert.True(expectedIds.SequenceEqual(actualIds), "missing: " + string.Join(", ", expectedIds.Except(actualIds)) +
                                                          "; unexpected: " + string.Join(", ", actualIds.Except(expectedIds)));
    }

    /// <summary>Returns every profile id with its consent flag.</summary>
    private static async Task<(Dictionary<string, bool> Profiles, Dictionary<string, List<CustomerTruth>> Owners)> AssertOneProfilePerCustomerAsync(
        string db, GroundTruth truth)
    {
        var keys = new PseudonymizationOptions { ActiveKeyId = "k1" };
        keys.Keys["k1"] = InProcessHost.TestKey;
        var pseudonymizer = new Pseudonymizer(Microsoft.Extensions.Options.Options.Create(keys));
        string Pseudonym(IdentifierTruth i)
        {
            Assert.True(pseudonymizer.TryPseudonymize(Enum.Parse<IdentifierType>(i.Type, ignoreCase: true), i.Value, out var p), $"{i.Type} is not valid");
            return p;
        }

        var linked = (await Database.RowsAsync(db, "select pseudonym, profile_id from identifiers")).ToDictionary(r => (string)r[0]!, r => (string)r[1]!);
        var profiles = (await Database.RowsAsync(db, "select profile_id, personalization_allowed from profiles")).ToDictionary(r => (string)r[0]!, r => (bool)r[1]!);
        await Profiles.ProfileInvariants.AssertListsMatchLinksAsync(db);

        var shared = truth.SharedIdentifiers.Select(s => (s.Type, s.Value)).ToHashSet();
        var erased = truth.Consents.Where(c => c.Action == "erase").Select(c => c.CustomerId).ToHashSet();
        var ownerOf = new Dictionary<string, List<CustomerTruth>>(StringComparer.Ordinal);
        foreach (var customer in truth.Customers.Where(c => !erased.Contains(c.CustomerId)))
        {
            var own = customer.Identifiers.Where(i => !shared.Contains((i.Type, i.Value))).Select(Pseudonym).ToList();
            Assert.NotEmpty(own);
            var missing = own.Count(p => !linked.ContainsKey(p));
            Assert.True(missing == 0, $"customer {customer.CustomerId}: {missing} of {own.Count} identifiers are in no profile");
            var profile = Assert.Single(own.Select(p => linked[p]).Distinct());
            (ownerOf.TryGetValue(profile, out var owners) ? owners : ownerOf[profile] = []).Add(customer);
        }

        // No false merges: a profile holds one customer, but for the family whose card joined at most the cap of members.
        foreach (var (profile, owners) in ownerOf.Where(o => o.Value.Count > 1))
        {
            Assert.True(owners.All(o => o.FamilyId is not null) && owners.Select(o => o.FamilyId).Distinct().Count() == 1,
                $"profile joins customers {string.Join(", ", owners.Select(o => o.CustomerId))}");
        }

        foreach (var card in truth.SharedIdentifiers)
        {
            var profile = linked[Pseudonym(new IdentifierTruth(card.Type, card.Value))];
            Assert.Equal(Math.Min(card.CustomerIds.Count, EmailCap), ownerOf[profile].Count);
        }

        // Every consent request was carried out or recorded as about an identifier not seen (yet: it may overtake the
        // customer's events on another topic), exactly once.
        var audit = (await Database.RowsAsync(db, "select event_id, action, identifier_type from consent_audit"))
            .Select(r => $"{r[0]}|{r[1]}|{r[2]}").Order(StringComparer.Ordinal).ToList();
        Assert.Equal(truth.Consents.Select(c => $"{c.EventId}|{c.Action}|{c.IdentifierType}").Order(StringComparer.Ordinal), audit);
        Assert.NotEmpty(audit);

        // Nothing invented: every identity row is an identifier some simulated customer used.
        var known = truth.Customers.SelectMany(c => c.Identifiers).Select(Pseudonym).ToHashSet(StringComparer.Ordinal);
        Assert.All(linked.Keys, p => Assert.Contains(p, known));
        return (profiles, ownerOf);
    }

    private async Task AssertConsentingProfilesAreSegmentedAsync(string db, TopicsOptions names, Dictionary<string, bool> profiles)
    {
        var rows = (await Database.RowsAsync(db, "select profile_id, segment_id, model_version, published, assignment::text from segment_assignments"))
            .ToDictionary(r => (string)r[0]!, r => (Segment: (int?)r[1], Version: (long?)r[2], Published: (bool)r[3]!, Assignment: (string?)r[4]));
        var version = rows.Values.Max(r => r.Version);
        Assert.True(version >= 1, "no segmentation model");
        var events = (await Database.RowsAsync(db, """
            select profile_id, (aggregate->'event_counts'->>'clickstream')::bigint + (aggregate->'event_counts'->>'store')::bigint
                + (aggregate->'event_counts'->>'callcenter')::bigint + (aggregate->'event_counts'->>'social')::bigint from profiles
            """)).ToDictionary(r => (string)r[0]!, r => (long)r[1]!);
        // Too little behaviour: no segment (Segmentation:MinEvents).
        var immature = profiles.Keys.Where(p => events[p] < MinEvents).ToList();
        Assert.All(immature, id => Assert.False(rows.ContainsKey(id), $"profile {id} with {events[id]} events has a segment"));
        var consenting = profiles.Where(p => p.Value && events[p.Key] >= MinEvents).Select(p => p.Key).ToList();
        var sizes = rows.Where(r => profiles.GetValueOrDefault(r.Key) && r.Value.Version == version)
            .GroupBy(r => r.Value.Segment!.Value).ToDictionary(g => g.Key, g => g.Count());
        var latest = TopicReader.ReadAll(kafka.BootstrapServers, names.Segments)
            .GroupBy(r => Encoding.UTF8.GetString(r.Message.Key!)).ToDictionary(g => g.Key, g => g.Last().Message.Value);

        // Enough activity to be segmented: a consenting profile once the model is seeded (Segmentation:SeedSize profile
        // records). Its assignment is published when its segment has reached Segmentation:MinSegmentSize members.
        foreach (var id in consenting)
        {
            Assert.True(rows.TryGetValue(id, out var row) && row.Assignment is not null && row.Version == version, $"profile {id} has no current assignment");
            AssertExplained(JsonDocument.Parse(row.Assignment!).RootElement, id);
            var published = latest.TryGetValue(id, out var value) && value is not null;
            Assert.True(published == row.Published, $"profile {id}: published {row.Published} in the database, {published} on the topic");
            Assert.True(published || sizes[row.Segment!.Value] < MinSegmentSize, $"profile {id} in a segment of {sizes[row.Segment!.Value]} is not published");
            if (published)
            {
                var record = JsonDocument.Parse(value!).RootElement;
                AssertExplained(record, id);
                Assert.Equal(row.Segment, record.GetProperty("segment_id").GetInt32());
            }
        }

        // Nobody else has a live assignment: not the opted out, not the erased, not profiles merged away.
        var live = latest.Where(l => l.Value is not null).Select(l => l.Key).ToList();
        Assert.All(live, id => Assert.True(profiles.GetValueOrDefault(id),
            $"{id} should have no live assignment (profile: {(profiles.TryGetValue(id, out var allowed) ? allowed ? "consenting" : "opted out" : "gone")})"));
        Assert.True(live.Count > consenting.Count / 2, $"only {live.Count} of {consenting.Count} consenting profiles published");
    }

    private async Task AssertSegmentsFindThePersonasAsync(string db, Dictionary<string, List<CustomerTruth>> owners)
    {
        var version = (long)(await Database.RowsAsync(db, "select max(model_version) from segment_assignments"))[0][0]!;
        var segments = (await Database.RowsAsync(db, $"select profile_id, segment_id from segment_assignments where model_version = {version}"))
            .ToDictionary(r => (string)r[0]!, r => (int)r[1]!);
        // Profiles of one customer each (a family's shared card joins several) that have a segment.
        var scored = owners.Where(o => o.Value.Count == 1 && segments.ContainsKey(o.Key)).OrderBy(o => o.Key, StringComparer.Ordinal).ToList();
        var personas = scored.Select(o => o.Value[0].Persona).ToList();
        var found = scored.Select(o => segments[o.Key]).ToList();
        var ari = Streams.Segmentation.Model.ClusterAgreement.AdjustedRandIndex(personas, found);
        output.WriteLine($"segments against personas: ARI {ari:F3} over {scored.Count} profiles, {found.Distinct().Count()} segments");
        Assert.True(scored.Count >= owners.Count / 2, $"only {scored.Count} of {owners.Count} profiles scored");
        Assert.True(ari >= MinAdjustedRandIndex, $"ARI {ari:F3} of the segments against the personas is below {MinAdjustedRandIndex}");
    }

    private static void AssertExplained(JsonElement assignment, string profileId)
    {
        Assert.Equal(profileId, assignment.GetProperty("profile_id").GetString());
        Assert.InRange(assignment.GetProperty("explanation").GetArrayLength(), 1, 3);
        Assert.False(string.IsNullOrWhiteSpace(assignment.GetProperty("summary").GetString()));
    }

    private async Task AssertNoRawPersonalDataAsync(InProcessHost host, TopicCatalog catalog, GroundTruth truth)
    {
        var needles = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
        {
            // Free text, URLs' query strings, IPs and user agents of the simulated events.
            "Still waiting for my refund", "Loving my new order", "called about", "utm_source", "203.0.113.", "Mozilla/5.0",
        };
        foreach (var customer in truth.Customers)
        {
            needles.Add(customer.Name);
            foreach (var identifier in customer.Identifiers)
            {
                needles.Add(identifier.Value);
                needles.Add(identifier.Type switch
                {
                    "phone" => identifier.Value[2..], // the digits after +1, as a till or an agent types them
                    "social" => identifier.Value[(identifier.Value.IndexOf(':', StringComparison.Ordinal) + 1)..], // the handle alone
                    _ => identifier.Value,
                });
            }
        }

        var search = SearchValues.Create([.. needles], StringComparison.OrdinalIgnoreCase);

        foreach (var topic in catalog.All.Where(t => t.Role != TopicRole.Input))
        {
            var text = new StringBuilder();
            foreach (var record in TopicReader.ReadAll(kafka.BootstrapServers, topic.Name))
            {
                text.Append(Utf8(record.Message.Key)).Append('\n').Append(Utf8(record.Message.Value)).Append('\n');
                foreach (var header in record.Message.Headers ?? [])
                {
                    text.Append(header.Key).Append('=').Append(Utf8(header.GetValueBytes())).Append('\n');
                }
            }

            AssertClean($"topic {topic.Name}", text.ToString(), search);
        }

        foreach (var table in await Database.TablesAsync(host.ConnectionString))
        {
            AssertClean($"table {table}", string.Join('\n', await Database.DumpAsync(host.ConnectionString, table)), search);
        }

        AssertClean("the logs", host.Logs.Text, search);
    }

    private static void AssertClean(string where, string text, SearchValues<string> search)
    {
        var at = text.AsSpan().IndexOfAny(search);
        Assert.True(at < 0, $"raw personal data in {where}: …{(at < 0 ? "" : text.Substring(Math.Max(0, at - 40), Math.Min(120, text.Length - Math.Max(0, at - 40))))}…");
    }

    private static string Utf8(byte[]? bytes) => bytes is null ? "" : Encoding.UTF8.GetString(bytes);

    private static IEnumerable<string> Codes(JsonElement quarantine) =>
        quarantine.GetProperty("reasons").EnumerateArray().Select(r => r.GetProperty("code").GetString()!);

    private static Dictionary<string, string> ContractToConfigured(TopicsOptions names) => new(StringComparer.Ordinal)
    {
        [SimulatorTopics.Clickstream] = names.Clickstream, [SimulatorTopics.Store] = names.Store, [SimulatorTopics.Callcenter] = names.Callcenter,
        [SimulatorTopics.Social] = names.Social, [SimulatorTopics.Consent] = names.Consent,
    };

    /// <summary>
    /// Waits until every stage has committed everything before it (ingest the inputs, profiles the canonical events,
    /// segmentation the profiles) with empty outboxes, twice in a row with the same log ends.
    /// </summary>
    private async Task WaitForDrainAsync(TopicCatalog catalog, string groups, string db, long records)
    {
        using var lag = new ConsumerLagReader(kafka.BootstrapServers);
        (string Group, string[] Topics)[] stages =
        [
            ($"{groups}-ingest", [.. catalog.Inputs]), ($"{groups}-profiles", [catalog.Names.Canonical]),
            ($"{groups}-segmentation", [catalog.Names.Profiles]),
        ];
        var clock = Stopwatch.StartNew();
        string? previous = null;
        while (clock.Elapsed < Patience)
        {
            var positions = stages.Select(s => lag.Read(s.Group, s.Topics, TimeSpan.FromSeconds(10))).ToList();
            var inputs = positions[0].Sum(p => p.End);
            var outboxes = await Database.CountAsync(db, "select (select count(*) from profile_outbox) + (select count(*) from segment_outbox)");
            var state = string.Join(",", positions.SelectMany(p => p).Select(p => $"{p.End}/{p.Lag}")) + $",{outboxes}";
            if (inputs == records && outboxes == 0 && positions.All(p => p.Sum(x => x.Lag) == 0))
            {
                if (state == previous)
                {
                    return;
                }

                previous = state;
            }

            await Task.Delay(500);
        }

        Assert.Fail($"the pipeline did not drain: {previous}");
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition() && clock.Elapsed < Patience)
        {
            await Task.Delay(200);
        }

        Assert.True(condition(), $"timed out waiting for {what}");
    }
}
