using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Streams.Contracts.Outputs;
using Streams.Ingest;
using Streams.Ingest.Worker;
using Streams.IntegrationTests.Fixtures;
using Streams.Quality.Stewardship;

namespace Streams.IntegrationTests.Stewardship;

/// <summary>Correct and replay, end to end: the real ingest and profiles workers and the quarantine index in the real host, on the run's broker and a fresh database.</summary>
[Collection(IntegrationCollection.Name)]
public sealed class ReplayTests(KafkaFixture kafka, PostgresFixture postgres)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private const string Email = "ada.replay@example.org";
    private const string Phone = "+44 20 7946 0958";
    private const string Name = "Ada Replaywoman";
    private const string Steward = "steward-ops";

    [Fact]
    public async Task QuarantinedRecords_CorrectedOrAfterAnUpstreamFix_AreAcceptedOnce_AndAudited_WithoutRawValuesStored()
    {
        var topics = await TestTopics.CreateAsync(kafka, partitions: 2);
        var clock = new ShiftedClock();
        await using var host = await InProcessHost.StartAsync(kafka, postgres, topics, builder =>
        {
            builder.AddStewardship();
            builder.Services.AddSingleton<TimeProvider>(clock);
        }, "--only", "ingest,profiles");
        var store = topics.Names.Store;
        var future = DateTimeOffset.UtcNow.AddMinutes(30).ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        using (var feed = new InputFeed(kafka.BootstrapServers))
        {
            feed.Send([
                (store, Sale("r-currency").Replace("\"EUR\"", "\"ZZZ\"", StringComparison.Ordinal)),
                (store, At(Sale("r-future-1"), future)),
                (store, At(Sale("r-future-2"), future)),
                (store, Sale("r-flagged").Replace("\"total\":25", "\"total\":99", StringComparison.Ordinal)),
            ]);
        }

        var stewardship = host.Get<IStewardship>();
        var page = await EventuallyAsync(() => stewardship.BrowseAsync(new QuarantineQuery(Topic: store), CancellationToken.None), p => p.Total == 4);
        var byId = page.Entries.ToDictionary(e => e.EventId!);
        Assert.Equal(["unknown_currency"], byId["r-currency"].Reasons.Select(r => r.Code));
        Assert.Equal("flagged", byId["r-flagged"].Disposition);
        var futures = await stewardship.BrowseAsync(new QuarantineQuery(store, "future_timestamp", PageSize: 1), CancellationToken.None);
        Assert.Equal((2L, 1), (futures.Total, futures.Entries.Count));

        // The steward reads the original (audited) and may edit its currency, never its personal fields.
        var currency = byId["r-currency"].Source;
        var original = await stewardship.ReadOriginalAsync(currency, Steward, CancellationToken.None);
        Assert.Contains("\"ZZZ\"", original.ValueJson, StringComparison.Ordinal);
        Assert.Contains("currency", original.EditableFields);
        Assert.DoesNotContain("email", original.EditableFields);
        var refused = await stewardship.ReplayAsync(currency, Steward, new Dictionary<string, string> { ["email"] = "\"x@example.org\"" }, CancellationToken.None);
        Assert.Equal(ReplayStatus.Refused, refused.Status);

        var corrected = await stewardship.ReplayAsync(currency, Steward, new Dictionary<string, string> { ["currency"] = "\"EUR\"" }, CancellationToken.None);
        Assert.Equal(ReplayStatus.Replayed, corrected.Status);
        var again = await stewardship.ReplayAsync(currency, Steward, new Dictionary<string, string> { ["currency"] = "\"EUR\"" }, CancellationToken.None);
        Assert.Equal(ReplayStatus.AlreadyReplayed, again.Status);
        var duplicate = await stewardship.ReplayAsync(byId["r-flagged"].Source, Steward, null, CancellationToken.None);
        Assert.Equal(ReplayStatus.Replayed, duplicate.Status);

        // The upstream fix: the producers' clocks were ahead; an hour on, the same records are on time.
        clock.Shift = TimeSpan.FromHours(1);
        var window = (From: DateTimeOffset.UtcNow.AddMinutes(-10), To: DateTimeOffset.UtcNow.AddMinutes(10));
        var bulk = await stewardship.ReplayReasonAsync(store, "future_timestamp", window.From, window.To, Steward, CancellationToken.None);
        Assert.Equal(new BulkReplayResult(2, 2, 0), bulk);
        Assert.Equal(new BulkReplayResult(2, 0, 2), await stewardship.ReplayReasonAsync(store, "future_timestamp", window.From, window.To, Steward, CancellationToken.None));

        // Exactly one canonical event per event id: the three recovered once, the flagged one's replay a duplicate.
        var canonical = await TopicReader.WaitForAsync(kafka.BootstrapServers, [topics.Names.Canonical], r => r.Count >= 4, Patience);
        await Task.Delay(500);
        canonical = TopicReader.ReadAll(kafka.BootstrapServers, topics.Names.Canonical);
        Assert.Equal(["r-currency", "r-flagged", "r-future-1", "r-future-2"],
            canonical.Select(r => JsonDocument.Parse(r.Message.Value!).RootElement.GetProperty("event_id").GetString()).Order(StringComparer.Ordinal));
        // One customer (the same e-mail on every sale): the profile counts the four sales once each.
        var profiles = await TopicReader.WaitForAsync(kafka.BootstrapServers, [topics.Names.Profiles],
            r => r.Any(p => StoreCount(p.Message.Value) == 4), Patience);
        Assert.Equal(4, profiles.Max(p => StoreCount(p.Message.Value)));
        Assert.Single(profiles.Where(p => p.Message.Value is not null).Select(p => p.Message.Key!).Distinct(new ByteArrayComparer()));
        var recovered = canonical.Single(r => r.Message.Value!.AsSpan().IndexOf("r-currency"u8) >= 0);
        Assert.Equal(corrected.ReplayedAs, OutputHeaders.Read(recovered.Message.Headers)!.Value.Source);
        var replayedInput = TopicReader.ReadAll(kafka.BootstrapServers, store).Single(r => r.Partition.Value == corrected.ReplayedAs!.Partition
            && r.Offset.Value == corrected.ReplayedAs.Offset);
        Assert.Equal((currency, Steward), ReplayHeaders.Read(replayedInput.Message.Headers));

        // The record's page learns the outcome by itself, before anyone opens the audit.
        await EventuallyAsync(() => stewardship.FindAsync(currency, CancellationToken.None), e => e?.LastReplayOutcome == "accepted");
        var audit = await EventuallyAsync(() => stewardship.AuditAsync(new StewardAuditQuery(), CancellationToken.None),
            a => a.Count(e => e.Outcome == "accepted") == 3 && a.Any(e => e.Outcome == "quarantined:duplicate_event,total_mismatch"));
        Assert.All(audit, e => Assert.Equal(Steward, e.Steward));
        Assert.Equal(
            [
                ("view_original", "shown"), ("replay", "refused"), ("replay", "accepted"), ("replay", "already_replayed"),
                ("replay", "quarantined:duplicate_event,total_mismatch"), ("bulk_replay", "accepted"), ("bulk_replay", "accepted"),
                ("bulk_replay", "already_replayed"), ("bulk_replay", "already_replayed"),
            ],
            audit.OrderBy(e => e.Id).Select(e => (e.Action, e.Outcome)));

        // The same through the host command, as a script runs it against the running host's database and broker.
        string[] settings = [.. topics.HostArguments, $"--ConnectionStrings:Profiles={host.ConnectionString}", $"--Kafka:BootstrapServers={kafka.BootstrapServers}"];
        var (listed, rows, listErrors) = await HostCommand.RunAsync(["quarantine", "list", "--topic", store, "--reason", "unknown_currency", .. settings]);
        Assert.True(listed == 0, listErrors);
        Assert.Contains($"{StewardPosition.Format(currency)}\t", rows, StringComparison.Ordinal);
        Assert.Contains("\taccepted", rows, StringComparison.Ordinal);
        Assert.Equal(3, (await HostCommand.RunAsync(["quarantine", "replay", StewardPosition.Format(currency), "--steward", Steward, .. settings])).ExitCode);
        var (personal, _, personalErrors) = await HostCommand.RunAsync(["quarantine", "replay", StewardPosition.Format(currency), "--steward", Email, .. settings]);
        Assert.Equal(2, personal);
        Assert.DoesNotContain(Email, personalErrors, StringComparison.Ordinal);

        // The index and the audit hold masked copies and names of operators only; the logs never show an original.
        await PrivacyScan.AssertOutputsCleanAsync(kafka.BootstrapServers, host, topics.Catalog,
            SearchValues.Create([Email, Name, "7946 0958", "LR-r-"], StringComparison.Ordinal));
    }

    private static string Sale(string eventId) =>
        SampleEvents.Store(eventId, loyaltyId: "LR-" + eventId, email: Email, phone: Phone, customerName: Name);

    private static long StoreCount(byte[]? profile) =>
        profile is null ? 0 : JsonDocument.Parse(profile).RootElement.GetProperty("event_counts").GetProperty("store").GetInt64();

    private sealed class ByteArrayComparer : IEqualityComparer<byte[]>
    {
        public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(byte[] obj) => obj.Length == 0 ? 0 : HashCode.Combine(obj.Length, obj[0], obj[^1]);
    }

    private static string At(string sale, string occurredAt) =>
        System.Text.RegularExpressions.Regex.Replace(sale, "\"occurred_at\":\"[^\"]+\"", $"\"occurred_at\":\"{occurredAt}\"");

    private static Task<T> EventuallyAsync<T>(Func<Task<T>> read, Func<T, bool> done) => Eventually.UntilAsync(read, done, Patience);

    /// <summary>The system clock moved by <see cref="Shift"/>; timers and timestamps stay the system's.</summary>
    private sealed class ShiftedClock : TimeProvider
    {
        public TimeSpan Shift { get; set; }

        public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + Shift;
    }
}
