using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Streams.Contracts.Identifiers;
using Streams.Contracts.Topics;
using Streams.Infrastructure.Kafka;
using Streams.Ingest;
using Streams.Ingest.Pseudonymization;
using Streams.IntegrationTests.Fixtures;
using Streams.Simulator;

namespace Streams.IntegrationTests.Pipeline;

/// <summary>
/// What a whole pipeline run over simulated traffic must show against the simulator's ground truth: quarantine records
/// per code and event, one profile per customer, every consent request audited once, consenting profiles segmented.
/// Shared by the uninterrupted run and the chaos run.
/// </summary>
/// <param name="minEvents">Segmentation:MinEvents of the run: profiles with fewer events get no segment.</param>
internal sealed class GroundTruthAssertions(string bootstrapServers, int minSegmentSize, int minEvents = 10)
{
    // CONTRACT §4 dispositions; invalid_email and invalid_phone are flagged, or quarantined when they were the only identifier.
    private static readonly HashSet<string> Quarantining =
        ["malformed_json", "oversized_record", "schema_violation", "future_timestamp", "out_of_range", "unknown_currency", "duplicate_event"];

    private static readonly HashSet<string> Flagging = ["total_mismatch", "identity_conflict"];

    // Identity:MaxPerType:email, left at its default.
    private const int EmailCap = 5;

    private static readonly Lazy<Pseudonymizer> TestPseudonymizer = new(() =>
    {
        var keys = new PseudonymizationOptions { ActiveKeyId = "k1" };
        keys.Keys["k1"] = InProcessHost.TestKey;
        return new Pseudonymizer(Microsoft.Extensions.Options.Options.Create(keys));
    });

    /// <summary>An identifier's pseudonym under the tests' key, as ingest makes it.</summary>
    public static string Pseudonym(IdentifierTruth identifier)
    {
        Assert.True(TestPseudonymizer.Value.TryPseudonymize(Enum.Parse<IdentifierType>(identifier.Type, ignoreCase: true), identifier.Value, out var p),
            $"{identifier.Type} is not valid");
        return p;
    }

    /// <summary>Every quarantine record of the run's input topics, with the input topic it came from.</summary>
    public List<(string Input, JsonElement Json)> ReadQuarantine(TopicCatalog catalog) =>
        catalog.Inputs.SelectMany(input => TopicReader.ReadAll(bootstrapServers, TopicsOptions.QuarantineOf(input))
            .Select(r => (Input: input, Json: JsonDocument.Parse(r.Message.Value!).RootElement.Clone()))).ToList();

    public void AssertQuarantineMatchesTruth(TopicCatalog catalog, GroundTruth truth)
    {
        var names = ContractToConfigured(catalog.Names);
        var quarantine = ReadQuarantine(catalog);

        var expected = new SortedDictionary<string, long>(truth.InjectedPerCode.ToDictionary(), StringComparer.Ordinal);
        if (truth.ExpectedIdentityConflicts > 0)
        {
            // Injected ones (a blocked email, flagged by ingest) and the family cards' (the profiles worker's caps).
            expected["identity_conflict"] = expected.GetValueOrDefault("identity_conflict") + truth.ExpectedIdentityConflicts;
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
        if (!expected.SequenceEqual(actual))
        {
            // Which records, for the code whose records cannot be matched one by one below (a repeat shows as an id twice).
            var conflicts = quarantine.Where(q => Codes(q.Json).Contains("identity_conflict"))
                .Select(q => $"{q.Input}|{q.Json.GetProperty("event_id").GetString()}").Order(StringComparer.Ordinal);
            Assert.Fail($"reason codes: expected {string.Join(", ", expected)}; actual {string.Join(", ", actual)}; " +
                        $"identity_conflict records: {string.Join(", ", conflicts)}");
        }

        // And record by record: the same event ids on the same topics (ingest cannot read the id of a record it does not parse).
        var unread = new HashSet<string> { "malformed_json", "oversized_record" };
        var expectedIds = truth.Injected
            .SelectMany(i => i.Codes.Select(c => $"{names[i.Topic]}|{(i.Codes.Any(unread.Contains) ? null : i.EventId)}|{c}"))
            .Order(StringComparer.Ordinal).ToList();
        // The family cards' conflicts come from the profiles worker and are counted above; ingest's blocked emails are injected.
        var actualIds = quarantine.SelectMany(q => q.Json.GetProperty("reasons").EnumerateArray()
                .Where(r => r.GetProperty("code").GetString() != "identity_conflict"
                            || r.GetProperty("detail").GetString()!.Contains("(Identity:Blocked)", StringComparison.Ordinal))
                .Select(r => $"{q.Input}|{q.Json.GetProperty("event_id").GetString()}|{r.GetProperty("code").GetString()}"))
            .Order(StringComparer.Ordinal).ToList();
        Assert.True(expectedIds.SequenceEqual(actualIds), "missing: " + string.Join(", ", expectedIds.Except(actualIds)) +
                                                          "; unexpected: " + string.Join(", ", actualIds.Except(expectedIds)));
    }

    /// <summary>Returns every profile id with its consent flag, and the customers each profile holds.</summary>
    public static async Task<(Dictionary<string, bool> Profiles, Dictionary<string, List<CustomerTruth>> Owners)> AssertOneProfilePerCustomerAsync(
        string db, GroundTruth truth)
    {
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

    /// <summary>
    /// The adjusted Rand index of the current model's segments against the simulator's personas, over the profiles of one
    /// customer each (a family's shared card joins several) that have a segment.
    /// </summary>
    public static async Task<(double Ari, int Scored, int Segments)> ScoreSegmentsAgainstPersonasAsync(
        string db, Dictionary<string, List<CustomerTruth>> owners)
    {
        var version = (long)(await Database.RowsAsync(db, "select max(model_version) from segment_assignments"))[0][0]!;
        var segments = (await Database.RowsAsync(db, $"select profile_id, segment_id from segment_assignments where model_version = {version}"))
            .ToDictionary(r => (string)r[0]!, r => (int)r[1]!);
        var scored = owners.Where(o => o.Value.Count == 1 && segments.ContainsKey(o.Key)).OrderBy(o => o.Key, StringComparer.Ordinal).ToList();
        var personas = scored.Select(o => o.Value[0].Persona).ToList();
        var found = scored.Select(o => segments[o.Key]).ToList();
        return (Streams.Segmentation.Model.ClusterAgreement.AdjustedRandIndex(personas, found), scored.Count, found.Distinct().Count());
    }

    public async Task AssertConsentingProfilesAreSegmentedAsync(string db, TopicsOptions names, Dictionary<string, bool> profiles)
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
        var immature = profiles.Keys.Where(p => events[p] < minEvents).ToList();
        Assert.All(immature, id => Assert.False(rows.ContainsKey(id), $"profile {id} with {events[id]} events has a segment"));
        var consenting = profiles.Where(p => p.Value && events[p.Key] >= minEvents).Select(p => p.Key).ToList();
        var sizes = rows.Where(r => profiles.GetValueOrDefault(r.Key) && r.Value.Version == version)
            .GroupBy(r => r.Value.Segment!.Value).ToDictionary(g => g.Key, g => g.Count());
        var history = TopicReader.ReadAll(bootstrapServers, names.Segments)
            .GroupBy(r => Encoding.UTF8.GetString(r.Message.Key!)).ToDictionary(g => g.Key, g => g.ToList());
        var latest = history.ToDictionary(h => h.Key, h => h.Value[^1].Message.Value);
        string History(string id) => history.TryGetValue(id, out var records)
            ? string.Join(" → ", records.Select(r => r.Message.Value is null ? $"tombstone@{r.Offset.Value}" : $"segment {JsonDocument.Parse(r.Message.Value).RootElement.GetProperty("segment_id")}@{r.Offset.Value}"))
            : "no record";

        var mismatched = new List<string>();
        string ProfileHistory(string id) => string.Join(" → ", TopicReader.ReadAll(bootstrapServers, names.Profiles)
            .Where(r => Encoding.UTF8.GetString(r.Message.Key!) == id)
            .Select(r => r.Message.Value is null ? $"tombstone@{r.Offset.Value}"
                : $"v{JsonDocument.Parse(r.Message.Value).RootElement.GetProperty("version")}" +
                  $"{(JsonDocument.Parse(r.Message.Value).RootElement.GetProperty("personalization_allowed").GetBoolean() ? "" : " opted out")}@{r.Offset.Value}"));

        // Enough activity to be segmented: a consenting profile once the model is seeded (Segmentation:SeedSize profile
        // records). Its assignment is published when its segment has reached Segmentation:MinSegmentSize members.
        foreach (var id in consenting)
        {
            Assert.True(rows.TryGetValue(id, out var row) && row.Assignment is not null && row.Version == version, $"profile {id} has no current assignment");
            AssertExplained(JsonDocument.Parse(row.Assignment!).RootElement, id);
            var published = latest.TryGetValue(id, out var value) && value is not null;
            if (published != row.Published)
            {
                mismatched.Add($"{id}: published {row.Published} (segment {row.Segment}, model {row.Version}) in the database, " +
                               $"{published} on the topic: {History(id)}; its profile records: {ProfileHistory(id)}");
                continue;
            }

            Assert.True(published || sizes[row.Segment!.Value] < minSegmentSize, $"profile {id} in a segment of {sizes[row.Segment!.Value]} is not published");
            if (published)
            {
                var record = JsonDocument.Parse(value!).RootElement;
                AssertExplained(record, id);
                Assert.Equal(row.Segment, record.GetProperty("segment_id").GetInt32());
            }
        }

        Assert.True(mismatched.Count == 0,
            $"{mismatched.Count} of {consenting.Count} consenting profiles in {db} are not on the segments topic as in the database, e.g. " +
            string.Join("; ", mismatched.Take(3)));

        // Nobody else has a live assignment: not the opted out, not the erased, not profiles merged away.
        var live = latest.Where(l => l.Value is not null).Select(l => l.Key).ToList();
        Assert.All(live, id => Assert.True(profiles.GetValueOrDefault(id),
            $"{id} should have no live assignment (profile: {(profiles.TryGetValue(id, out var allowed) ? allowed ? "consenting" : "opted out" : "gone")})"));
        Assert.True(live.Count > consenting.Count / 2, $"only {live.Count} of {consenting.Count} consenting profiles published");
    }

    /// <summary>
    /// Waits until every stage has committed everything before it (ingest the inputs, profiles the canonical events,
    /// segmentation the profiles) with empty outboxes, twice in a row with the same log ends. A partition counts as
    /// committed when the consumer group's offset or the worker's own position in PostgreSQL has reached its end: the
    /// workers resume from the latter and commit the former only for monitoring, after each batch, so a worker killed
    /// between the two leaves the group's offset behind on a partition that gets no more records.
    /// </summary>
    public async Task WaitForDrainAsync(TopicCatalog catalog, string groups, string db, long records, TimeSpan patience)
    {
        using var lag = new ConsumerLagReader(bootstrapServers);
        (string Group, string[] Topics)[] stages =
        [
            ($"{groups}-ingest", [.. catalog.Inputs]), ($"{groups}-profiles", [catalog.Names.Canonical]),
            ($"{groups}-segmentation", [catalog.Names.Profiles]),
        ];
        var clock = Stopwatch.StartNew();
        string? previous = null;
        var last = "nothing read";
        while (clock.Elapsed < patience)
        {
            var stored = (await Database.RowsAsync(db, "select consumer, topic, partition, next_offset from consumer_offsets"))
                .ToDictionary(r => ((string)r[0]!, (string)r[1]!, (int)r[2]!), r => (long)r[3]!);
            var positions = stages.Select(s => lag.Read(s.Group, s.Topics, TimeSpan.FromSeconds(10))
                .Select(p => p with
                {
                    Committed = Math.Max(p.Committed,
                        stored.GetValueOrDefault((s.Group[(groups.Length + 1)..], p.Partition.Topic, p.Partition.Partition.Value))),
                }).ToList()).ToList();
            var inputs = positions[0].Sum(p => p.End);
            var outboxes = await Database.CountAsync(db, "select (select count(*) from profile_outbox) + (select count(*) from segment_outbox)");
            var state = string.Join(",", positions.SelectMany(p => p).Select(p => $"{p.End}/{p.Lag}")) + $",{outboxes}";
            last = $"inputs {inputs} of {records}, outboxes {outboxes}, end/lag per partition: {state}";
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

        Assert.Fail($"the pipeline did not drain: {last}");
    }

    public static IEnumerable<string> Codes(JsonElement quarantine) =>
        quarantine.GetProperty("reasons").EnumerateArray().Select(r => r.GetProperty("code").GetString()!);

    /// <summary>The configured input topic of each CONTRACT §1 input topic name the simulator uses.</summary>
    public static Dictionary<string, string> ContractToConfigured(TopicsOptions names) => new(StringComparer.Ordinal)
    {
        [SimulatorTopics.Clickstream] = names.Clickstream, [SimulatorTopics.Store] = names.Store, [SimulatorTopics.Callcenter] = names.Callcenter,
        [SimulatorTopics.Social] = names.Social, [SimulatorTopics.Consent] = names.Consent,
    };

    private static void AssertExplained(JsonElement assignment, string profileId)
    {
        Assert.Equal(profileId, assignment.GetProperty("profile_id").GetString());
        Assert.InRange(assignment.GetProperty("explanation").GetArrayLength(), 1, 3);
        Assert.False(string.IsNullOrWhiteSpace(assignment.GetProperty("summary").GetString()));
    }
}
