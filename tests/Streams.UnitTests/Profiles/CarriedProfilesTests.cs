using System.Text.Json;
using Streams.Contracts;
using Streams.Contracts.Canonical;
using Streams.Contracts.Identifiers;
using Streams.Contracts.Topics;
using Streams.Ingest;
using Streams.Ingest.Pseudonymization;
using Streams.Profiles.Features;
using Streams.Profiles.Identity;
using Streams.Profiles.Processing;
using static Streams.UnitTests.Profiles.ProfileTestKit;

namespace Streams.UnitTests.Profiles;

/// <summary>
/// A batch applied on profiles carried over from the batch before it (still being committed) must change exactly what
/// it changes when it reads every profile from the database after that commit, and must not disturb that batch's state.
/// </summary>
public sealed class CarriedProfilesTests
{
    private static readonly ProfileBatchProcessor Processor = new(new TopicCatalog(new TopicsOptions()), new IdentityCaps(), new ProfileRecordWriter());

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void BatchOnCarriedProfiles_ChangesWhatItChangesAfterReadingTheCommittedRows(int seed)
    {
        var random = new Random(seed);
        var store = new Store();
        var offset = 0L;
        BatchChanges? previous = null;
        for (var b = 0; b < 8; b++)
        {
            var items = Enumerable.Range(0, 40).Select(_ => Item(random, ref offset)).ToList();
            var pseudonyms = items.SelectMany(Pseudonyms).ToHashSet(StringComparer.Ordinal);
            var now = T0.AddDays(30 + b);

            // As the worker runs without overlap: the previous batch committed, every profile read from the database.
            var fresh = Processor.Apply(store.Load(pseudonyms), items, now);

            if (previous is not null)
            {
                var before = Render(previous);
                var carried = CarriedProfiles.From(previous, pseudonyms);
                var state = store.Load(carried.ToLoad);
                carried.AddTo(state);
                var overlapped = Processor.Apply(state, items, now);

                Assert.Equal(Render(fresh), Render(overlapped));
                Assert.Equal(before, Render(previous));
                Assert.All(carried.ExpectedVersions, v => Assert.Equal(store.Version(v.Key), v.Value));
            }

            store.Commit(fresh);
            previous = fresh;
        }
    }

    [Fact]
    public void From_CarriesOnlyTheProfilesOwningAPseudonymOfTheBatch_AndLoadsTheRest()
    {
        var kept = new StoredProfile { ProfileId = "p-a", Aggregate = new ProfileAggregate(), Version = 4 };
        kept.Identifiers[Email("a").Pseudonym] = (IdentifierType.Email, T0, null);
        kept.Identifiers[Phone("a").Pseudonym] = (IdentifierType.Phone, T0, null);
        var other = new StoredProfile { ProfileId = "p-b", Aggregate = new ProfileAggregate(), Version = 2 };
        other.Identifiers[Email("b").Pseudonym] = (IdentifierType.Email, T0, null);
        var previous = new BatchChanges();
        previous.Upserts.AddRange([kept, other]);

        var carried = CarriedProfiles.From(previous, [Phone("a").Pseudonym, Email("a").Pseudonym, Email("c").Pseudonym]);

        var profile = Assert.Single(carried.Profiles);
        Assert.Equal("p-a", profile.ProfileId);
        Assert.NotSame(kept, profile);
        Assert.Equal([Email("c").Pseudonym], carried.ToLoad);
        Assert.Equal(new Dictionary<string, long> { ["p-a"] = 4 }, carried.ExpectedVersions);

        profile.Aggregate.Apply(Click(T0.AddDays(1), "page_view"));
        profile.Identifiers[Device("a").Pseudonym] = (IdentifierType.Device, T0, null);
        Assert.Equal(0, kept.Aggregate.TotalEvents);
        Assert.Equal(2, kept.Identifiers.Count);
    }

    private static BatchItem Item(Random random, ref long offset)
    {
        offset++;
        var position = new SourcePosition("canonical", 0, offset);
        var customer = random.Next(25);
        if (random.NextDouble() < 0.03)
        {
            var target = Email($"c{customer}");
            var action = random.Next(3) switch { 0 => ConsentAction.Erase, 1 => ConsentAction.OptOut, _ => ConsentAction.OptIn };
            return new ConsentItem(position, new ConsentCommand($"consent-{offset}", T0.AddMinutes(offset), target.Type, target.Pseudonym, action,
                new SourcePosition("consent", 0, offset)));
        }

        // Each customer's identifiers, a few per event; now and then one of another customer's (a bridge: a merge).
        CanonicalIdentifier[] all = [Email($"c{customer}"), Phone($"c{customer}"), Device($"c{customer}-{random.Next(3)}"), Social($"c{customer}")];
        var identifiers = all.Where(_ => random.NextDouble() < 0.5).ToList();
        if (random.NextDouble() < 0.05)
        {
            identifiers.Add(Phone($"c{random.Next(25)}"));
        }

        var at = T0.AddMinutes(offset);
        var e = random.Next(2) == 0 ? Click(at, "page_view") : Sale(at, 10 + random.Next(90), 5);
        return new EventItem(position, e with { Identifiers = [.. identifiers.DistinctBy(i => i.Pseudonym)] });
    }

    private static IEnumerable<string> Pseudonyms(BatchItem item) => item switch
    {
        EventItem e => e.Event.Identifiers.Select(i => i.Pseudonym),
        ConsentItem c => [c.Command.Pseudonym],
        _ => [],
    };

    /// <summary>Everything a batch writes, in a comparable form.</summary>
    private static string Render(BatchChanges changes) => JsonSerializer.Serialize(new
    {
        Upserts = changes.Upserts.Select(p => new
        {
            p.ProfileId, p.Version, p.PersonalizationAllowed,
            Aggregate = JsonSerializer.Serialize(p.Aggregate, ProfileJsonContext.Default.ProfileAggregate),
            Identifiers = p.Identifiers.OrderBy(i => i.Key, StringComparer.Ordinal).Select(i => $"{i.Key}:{i.Value.Type}:{i.Value.LinkedAt:O}"),
        }),
        Deleted = changes.Deleted.Order(StringComparer.Ordinal),
        Erased = changes.Erased.Order(StringComparer.Ordinal),
        changes.Merges,
        NewLinks = changes.NewLinks.Select(l => $"{l.Pseudonym}>{l.Link}").Order(StringComparer.Ordinal),
        MovedLinks = changes.MovedLinks.Select(l => $"{l.Pseudonym}>{l.Link}").Order(StringComparer.Ordinal),
        DroppedLinks = changes.DroppedLinks.Order(StringComparer.Ordinal),
        Outbox = changes.Outbox.Select(m => $"{m.Topic}|{Convert.ToBase64String(m.Key ?? [])}|{Convert.ToBase64String(m.Value ?? [])}"),
        Audits = changes.Audits.Select(a => a.ToString()),
    });

    /// <summary>The committed tables, as far as a batch reads them.</summary>
    private sealed class Store
    {
        private readonly Dictionary<string, StoredProfile> profiles = new(StringComparer.Ordinal);

        public ProfileState Load(IEnumerable<string> pseudonyms)
        {
            var wanted = pseudonyms.ToHashSet(StringComparer.Ordinal);
            var state = new ProfileState();
            foreach (var profile in profiles.Values.Where(p => p.Identifiers.Keys.Any(wanted.Contains)))
            {
                state.Add(profile.Clone());
            }

            return state;
        }

        public long Version(string id) => profiles[id].Version;

        public void Commit(BatchChanges changes)
        {
            foreach (var id in changes.Deleted)
            {
                profiles.Remove(id);
            }

            foreach (var profile in changes.Upserts)
            {
                profiles[profile.ProfileId] = profile.Clone();
            }
        }
    }
}
