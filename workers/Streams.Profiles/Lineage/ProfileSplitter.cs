using Microsoft.Extensions.Logging;
using Npgsql;
using Streams.Contracts.Topics;
using Streams.Infrastructure.Kafka;
using Streams.Profiles.Identity;
using Streams.Profiles.Processing;
using Streams.Profiles.Store;

namespace Streams.Profiles.Lineage;

/// <summary>What a split did: the profile it started from, the profiles it left (id, events), the blocks it recorded.</summary>
public sealed record SplitResult(string From, IReadOnlyList<(string ProfileId, long Events)> Profiles, int Blocks);

/// <summary>The operator asked for something the data does not allow (an unknown merge, a profile without that identifier).</summary>
public sealed class SplitRefusedException(string message) : Exception(message);

/// <summary>
/// Undoes a merge or detaches an identifier from a profile (CONTRACT §5.4) while the profiles workers run: blocks the
/// link, re-derives the profile from its retained events (<see cref="ProfileRederivation"/>), writes the profiles, links,
/// merges and outbox in one transaction, then publishes them.
/// </summary>
/// <remarks>
/// The same discipline as a batch: the profile's pseudonyms are locked the way a batch locks them (advisory locks on their
/// hashes, in one sorted statement), then its row (<c>for update</c>). Here the pseudonym locks are held by the session
/// until the records are published, so no batch touches the profiles in between and a consumer never sees a newer version
/// before these. A batch that carried the profile over from the one before finds its version changed and runs again
/// (<see cref="ProfileRepository.LockCarried"/>): nothing is counted twice or lost.
/// </remarks>
/// <param name="maxLineageBytes">The most bytes of retained events a split reads (<see cref="IdentityOptions.MaxSplitLineageBytes"/>).</param>
public sealed class ProfileSplitter(NpgsqlDataSource dataSource, TopicCatalog catalog, IdentityCaps caps, long maxLineageBytes, ProfileRecordWriter writer,
    TimeProvider timeProvider, string bootstrapServers, ILogger logger)
{
    private const int MaxAttempts = 5;

    /// <summary>Undoes merge <paramref name="mergeId"/>: the identifiers that bridged it never link the two sides again.</summary>
    public SplitResult Unmerge(string mergeId)
    {
        using var connection = dataSource.OpenConnection();
        var merge = LineageStore.LoadMerge(connection, null, mergeId) ?? throw new SplitRefusedException($"no merge {mergeId} is recorded");
        if (merge.Undone)
        {
            throw new SplitRefusedException($"merge {mergeId} is undone already");
        }

        var live = LineageStore.LiveProfile(connection, null, merge.Absorbed);
        if (live is null || live == merge.Absorbed)
        {
            throw new SplitRefusedException($"profile {merge.Absorbed} of merge {mergeId} is not merged into any profile now (erased, or split since)");
        }

        var blocks = merge.Evidence.Blocks().ToList();
        return Run(connection, live, _ => blocks, "unmerge", mergeId, split =>
        {
            if (!split.Profiles.Any(p => p.ProfileId == merge.Absorbed))
            {
                throw new SplitRefusedException(
                    $"other records link profile {merge.Absorbed} to {live} too: undo their merges first (see merge_lineage)");
            }
        });
    }

    /// <summary>Detaches <paramref name="pseudonym"/> from <paramref name="profileId"/>: it never links to the profile's other identifiers again.</summary>
    public SplitResult Detach(string profileId, string pseudonym)
    {
        using var connection = dataSource.OpenConnection();
        return Run(connection, profileId, current =>
        {
            if (!current.Identifiers.TryGetValue(pseudonym, out var link))
            {
                throw new SplitRefusedException($"profile {profileId} does not hold that identifier");
            }

            // Its pseudonym under another key (an alias either way) is the same identifier: it goes with it.
            return [.. current.Identifiers
                .Where(i => i.Key != pseudonym && i.Value.AliasOf != pseudonym && link.AliasOf != i.Key)
                .Select(i => (pseudonym, i.Key))
                .OrderBy(b => b.Key, StringComparer.Ordinal)];
        }, "detach", null, _ => { });
    }

    private SplitResult Run(NpgsqlConnection connection, string profileId, Func<StoredProfile, List<(string Pseudonym, string Keep)>> blocksFor,
        string kind, string? mergeId, Action<Split> check)
    {
        for (var attempt = 1; ; attempt++)
        {
            var pseudonyms = LineageStore.PseudonymsOf(connection, null, profileId);
            if (pseudonyms.Length == 0)
            {
                throw new SplitRefusedException($"no profile {profileId}");
            }

            Lock(connection, pseudonyms, "pg_advisory_lock");
            try
            {
                if (TrySplit(connection, profileId, pseudonyms, blocksFor, kind, mergeId, check) is { } result)
                {
                    return result;
                }
            }
            finally
            {
                // A connection lost under the split ended its session, and the locks with it: releasing them there would
                // replace what went wrong with "Connection is not open".
                if (connection.State == System.Data.ConnectionState.Open)
                {
                    Lock(connection, pseudonyms, "pg_advisory_unlock");
                }
            }

            if (attempt == MaxAttempts)
            {
                throw new SplitRefusedException($"profile {profileId} kept gaining identifiers while it was being locked; try again");
            }
        }
    }

    /// <summary>Null when the profile gained identifiers between reading and locking them: the caller locks again.</summary>
    private SplitResult? TrySplit(NpgsqlConnection connection, string profileId, string[] pseudonyms,
        Func<StoredProfile, List<(string Pseudonym, string Keep)>> blocksFor, string kind, string? mergeId, Action<Split> check)
    {
        using var transaction = connection.BeginTransaction();
        var state = ProfileRepository.Load(connection, transaction, pseudonyms);
        if (!state.Profiles.TryGetValue(profileId, out var current))
        {
            throw new SplitRefusedException($"profile {profileId} was merged or erased meanwhile; look it up again");
        }

        if (current.Identifiers.Keys.Any(p => !pseudonyms.Contains(p, StringComparer.Ordinal)))
        {
            return null;
        }

        var blocks = blocksFor(current);
        if (!LineageStore.TryLoadEvents(connection, transaction, profileId, maxLineageBytes, out var events))
        {
            throw new SplitRefusedException($"profile {profileId} and the profiles merged into it keep more than {maxLineageBytes} bytes of " +
                "events, more than a split re-derives at once (Identity:MaxSplitLineageBytes)");
        }

        var all = LoadBlocks(connection, transaction, events);
        foreach (var (pseudonym, keep) in blocks)
        {
            if (!all.TryGetValue(pseudonym, out var set))
            {
                all[pseudonym] = set = new HashSet<string>(StringComparer.Ordinal);
            }

            set.Add(keep);
        }

        var now = timeProvider.GetUtcNow();
        var split = ProfileRederivation.Rederive(current, events, all, caps, now);
        check(split);

        var changes = Changes(state, current, split, kind, mergeId, now);
        ProfileRepository.Save(connection, transaction, changes, [], new Dictionary<(string, int), long>(), now);
        using (var batch = new NpgsqlBatch(connection, transaction))
        {
            foreach (var command in LineageStore.SaveSplit(profileId, split, blocks, mergeId, now))
            {
                batch.BatchCommands.Add(command);
            }

            batch.ExecuteNonQuery();
        }

        transaction.Commit();
        logger.LogInformation("{Kind}: profile {Profile} re-derived into {Count} profiles from {Events} retained events",
            kind, profileId, split.Profiles.Count, events.Count);

        try
        {
            using var outbox = new TableOutboxPublisher(dataSource, ProfileRepository.OutboxTable, bootstrapServers, "streams-" + kind, logger);
            outbox.PublishPending();
        }
        catch (Exception e) when (e is Confluent.Kafka.KafkaException or NpgsqlException)
        {
            throw new InvalidOperationException($"the {kind} is committed but its records were not all published ({e.Message}): restart the " +
                "profiles worker now, it publishes them", e);
        }

        return new SplitResult(profileId, [.. split.Profiles.Select(p => (p.ProfileId, p.Aggregate.TotalEvents))], blocks.Count);
    }

    /// <summary>The rows to write: every re-derived profile, the links that moved or went, and their records.</summary>
    private BatchChanges Changes(ProfileState state, StoredProfile current, Split split, string kind, string? mergeId, DateTimeOffset now)
    {
        var changes = new BatchChanges();
        foreach (var profile in split.Profiles)
        {
            changes.Upserts.Add(profile);
            changes.Outbox.Add(new OutboxMessage(catalog.Names.Profiles, ProfileBatchProcessor.Key(profile.ProfileId), writer.Profile(profile, now)));
            if (profile.ProfileId != current.ProfileId)
            {
                changes.Outbox.Add(new OutboxMessage(catalog.Names.ProfileMerges, ProfileBatchProcessor.Key(profile.ProfileId),
                    writer.Split(kind, mergeId, profile.ProfileId, current.ProfileId, now)));
            }
        }

        ProfileBatchProcessor.CompareLinks(state, changes);
        var held = split.Profiles.SelectMany(p => p.Identifiers.Keys).ToHashSet(StringComparer.Ordinal);
        // A detached identifier whose every event also carried the profile's others: it belongs to no profile now.
        changes.DroppedLinks.AddRange(current.Identifiers.Keys.Where(p => !held.Contains(p)).Order(StringComparer.Ordinal));
        return changes;
    }

    private static Dictionary<string, HashSet<string>> LoadBlocks(NpgsqlConnection connection, NpgsqlTransaction transaction, List<RetainedEvent> events)
    {
        var pseudonyms = events.SelectMany(e => e.Event.Identifiers).SelectMany(i => i.Previous is { } p ? [i.Pseudonym, p] : new[] { i.Pseudonym })
            .Distinct(StringComparer.Ordinal).ToArray();
        var state = new ProfileState();
        using var command = new NpgsqlCommand(ProfileRepository.LoadBlocksSql, connection, transaction);
        command.Parameters.Add(new NpgsqlParameter<string[]>("pseudonyms", pseudonyms));
        using (var reader = command.ExecuteReader())
        {
            ProfileRepository.ReadBlocks(reader, state);
        }

        return state.Blocks;
    }

    /// <summary>Session-level advisory locks on the pseudonyms' hashes, in the order a batch takes them (sorted), or their release.</summary>
    private static void Lock(NpgsqlConnection connection, string[] pseudonyms, string function)
    {
        using var command = new NpgsqlCommand(ProfileRepository.LockPseudonymsSql(function), connection);
        command.Parameters.Add(new NpgsqlParameter<string[]>("pseudonyms", pseudonyms));
        command.ExecuteScalar();
    }
}
