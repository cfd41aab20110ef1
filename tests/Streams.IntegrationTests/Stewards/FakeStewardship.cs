using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Streams.Contracts;
using Streams.Ingest;
using Streams.Quality.Stewardship;

namespace Streams.IntegrationTests.Stewards;

/// <summary>
/// An in-memory <see cref="IStewardship"/> for the console's tests (the real one reads Kafka and PostgreSQL): a few
/// quarantine records whose originals hold the personal values below and whose masked copies do not; it audits and
/// replays as the contract says (a second replay of a record is <see cref="ReplayStatus.AlreadyReplayed"/>).
/// </summary>
internal sealed class FakeStewardship : IStewardship
{
    public const string Name = "Ada Lovelace";
    public const string Email = "ada.lovelace@example.org";
    public const string Phone = "+44 20 7946 0958";

    public const string Markup = "<b id=\"injected\">x</b>";

    public static IReadOnlyList<string> PersonalValues { get; } = [Name, Email, Phone, "Lovelace", "ada.lovelace"];

    private readonly List<QuarantineEntry> entries = [];
    private readonly Dictionary<SourcePosition, string> originals = [];
    private readonly ConcurrentQueue<StewardAuditEntry> audit = new();
    private readonly ConcurrentDictionary<SourcePosition, string> replayed = new();
    private long nextAuditId;

    public FakeStewardship(DateTimeOffset now)
    {
        // Records 0..11 of store partition 0: even offsets bad currency, odd offsets a missing field; one callcenter record.
        for (var offset = 0; offset < 12; offset++)
        {
            var currency = offset % 2 == 0;
            Add(new SourcePosition("store", 0, offset), currency ? "invalid_currency" : "missing_field", currency ? "currency" : "order_id",
                now.AddMinutes(-60 + offset * 5), $"evt-store-{offset}", currency ? "XXX" : "\"EUR\"");
        }

        Add(new SourcePosition("callcenter", 1, 7), "invalid_email", "email", now.AddMinutes(-3), "evt-call-7", "\"EUR\"");
        // Markup in a record's text (the event id is the sender's) must reach the page as text.
        Add(new SourcePosition("callcenter", 1, 8), "invalid_email", "email", now.AddMinutes(-2), Markup, "\"EUR\"");
    }

    /// <summary>Every replay asked for, in order, with its edits.</summary>
    public ConcurrentQueue<(SourcePosition Source, IReadOnlyDictionary<string, string>? Edits)> Replays { get; } = new();

    public static SourcePosition BadCurrency { get; } = new("store", 0, 10);

    public Task<QuarantinePage> BrowseAsync(QuarantineQuery query, CancellationToken cancellationToken)
    {
        var matching = entries.Where(e => (query.Topic is null || e.Source.Topic == query.Topic)
                                          && (query.ReasonCode is null || e.Reasons.Any(r => r.Code == query.ReasonCode))
                                          && (query.From is null || e.QuarantinedAt >= query.From)
                                          && (query.To is null || e.QuarantinedAt < query.To))
            .OrderByDescending(e => e.QuarantinedAt).ToList();
        return Task.FromResult(new QuarantinePage(
            [.. matching.Skip(query.Page * query.PageSize).Take(query.PageSize).Select(WithOutcome)], matching.Count));
    }

    /// <summary>Asking for a record of this topic fails with an exception whose message quotes a personal value.</summary>
    public const string FailingTopic = "broken";

    public Task<QuarantineEntry?> FindAsync(SourcePosition source, CancellationToken cancellationToken) =>
        source.Topic == FailingTopic ? throw new InvalidOperationException($"cannot parse the record of {Email}") : Task.FromResult(entries.FirstOrDefault(e => e.Source == source) is { } entry ? WithOutcome(entry) : null);

    public Task<OriginalRecord> ReadOriginalAsync(SourcePosition source, string steward, CancellationToken cancellationToken)
    {
        Audit(steward, "view_original", source, "shown");
        return Task.FromResult(new OriginalRecord(source, originals[source], false, ["currency", "amount"]));
    }

    public Task<ReplayResult> ReplayAsync(
        SourcePosition source, string steward, IReadOnlyDictionary<string, string>? edits, CancellationToken cancellationToken)
    {
        Replays.Enqueue((source, edits));
        if (!originals.ContainsKey(source))
        {
            return Task.FromResult(new ReplayResult(source, ReplayStatus.NotQuarantined, null, null));
        }

        var status = replayed.TryAdd(source, "accepted") ? ReplayStatus.Replayed : ReplayStatus.AlreadyReplayed;
        Audit(steward, "replay", source, status == ReplayStatus.Replayed ? "accepted" : "already_replayed");
        return Task.FromResult(new ReplayResult(source, status, status == ReplayStatus.Replayed ? new SourcePosition("store", 0, 1000 + source.Offset) : null,
            status == ReplayStatus.Replayed ? "ingest accepted it" : "replayed before"));
    }

    public Task<BulkReplayResult> ReplayReasonAsync(
        string topic, string reasonCode, DateTimeOffset from, DateTimeOffset to, string steward, CancellationToken cancellationToken)
    {
        var matched = entries.Where(e => e.Source.Topic == topic && e.Reasons.Any(r => r.Code == reasonCode) && e.QuarantinedAt >= from && e.QuarantinedAt < to)
            .ToList();
        var done = matched.Count(e => replayed.TryAdd(e.Source, "accepted"));
        Audit(steward, "bulk_replay", null, $"{done} of {matched.Count}");
        return Task.FromResult(new BulkReplayResult(matched.Count, done, matched.Count - done));
    }

    public Task<IReadOnlyList<StewardAuditEntry>> AuditAsync(StewardAuditQuery query, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<StewardAuditEntry>>(
            [.. audit.Where(a => query.Steward is null || a.Steward == query.Steward).OrderByDescending(a => a.Id).Take(query.Limit)]);

    private void Add(SourcePosition source, string code, string field, DateTimeOffset at, string eventId, string currencyJson)
    {
        var original = new JsonObject
        {
            ["event_id"] = eventId,
            ["customer"] = new JsonObject { ["name"] = Name, ["email"] = Email, ["phone"] = Phone },
            ["currency"] = JsonNode.Parse(currencyJson.StartsWith('"') ? currencyJson : $"\"{currencyJson}\""),
            ["amount"] = 12.5,
        };
        var masked = new JsonObject
        {
            ["event_id"] = eventId,
            ["customer"] = new JsonObject { ["name"] = "A*** L***", ["email"] = "a***@e***.org", ["phone"] = "+44 ** **** ****" },
            ["currency"] = original["currency"]!.DeepClone(),
            ["amount"] = 12.5,
        };
        originals[source] = original.ToJsonString();
        entries.Add(new QuarantineEntry(source, eventId, "quarantined", [new QuarantineReason(code, field, $"{field} is not valid")],
            masked.ToJsonString(new JsonSerializerOptions()), at, null));
    }

    private QuarantineEntry WithOutcome(QuarantineEntry entry) =>
        replayed.TryGetValue(entry.Source, out var outcome) ? entry with { LastReplayOutcome = outcome } : entry;

    private void Audit(string steward, string action, SourcePosition? source, string outcome) =>
        audit.Enqueue(new StewardAuditEntry(Interlocked.Increment(ref nextAuditId), DateTimeOffset.UtcNow, steward, action, source, outcome));

    public IReadOnlyList<StewardAuditEntry> Audited => [.. audit];
}
