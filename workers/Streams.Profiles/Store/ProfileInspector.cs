using System.Text.Json.Nodes;
using Npgsql;
using Streams.Profiles.Features;

namespace Streams.Profiles.Store;

/// <summary>
/// Everything held about the person behind one pseudonym, for the customer who asks "what do you know about me?".
/// Identifiers are reported by type and count (the pseudonyms themselves mean nothing to a person).
/// </summary>
public static class ProfileInspector
{
    /// <summary>The profile of the first of <paramref name="pseudonyms"/> that is linked: one identifier's pseudonyms
    /// under every configured key, the active key's first.</summary>
    /// <param name="segmentOf">The profile's segment assignment as its owner (segmentation) reads it; null when it has none.</param>
    public static async Task<JsonObject> DescribeAsync(NpgsqlDataSource dataSource, string identifierType, IReadOnlyList<string> pseudonyms,
        Func<string, CancellationToken, Task<JsonNode?>> segmentOf, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(segmentOf);
        ArgumentNullException.ThrowIfNull(pseudonyms);
        ArgumentNullException.ThrowIfNull(dataSource);
        var result = new JsonObject { ["identifier_type"] = identifierType };
        await using var command = dataSource.CreateCommand("""
            select p.profile_id, p.first_seen, p.last_seen, p.aggregate::text, p.personalization_allowed, p.version, p.updated_at,
                   (select count(*) from profile_merges m where m.survivor = p.profile_id)
            from identifiers i join profiles p using (profile_id)
            where i.pseudonym = any(@pseudonyms)
            order by array_position(@pseudonyms, i.pseudonym::text)
            limit 1
            """);
        command.Parameters.Add(new NpgsqlParameter<string[]>("pseudonyms", [.. pseudonyms]));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            result["found"] = false;
            result["message"] = "Nothing is held about this identifier.";
            return result;
        }

        var profileId = reader.GetString(0);
        var aggregate = System.Text.Json.JsonSerializer.Deserialize(reader.GetString(3), ProfileJsonContext.Default.ProfileAggregate)!;
        var features = new JsonObject();
        foreach (var (name, value) in aggregate.Features().OrderBy(f => f.Key, StringComparer.Ordinal))
        {
            features[name] = value;
        }

        var profile = new JsonObject
        {
            ["profile_id"] = profileId,
            ["first_seen"] = reader.GetFieldValue<DateTimeOffset>(1).ToString("O", System.Globalization.CultureInfo.InvariantCulture),
            ["last_seen"] = reader.GetFieldValue<DateTimeOffset>(2).ToString("O", System.Globalization.CultureInfo.InvariantCulture),
            ["personalization_allowed"] = reader.GetBoolean(4),
            ["version"] = reader.GetInt64(5),
            ["updated_at"] = reader.GetFieldValue<DateTimeOffset>(6).ToString("O", System.Globalization.CultureInfo.InvariantCulture),
            ["merged_profiles"] = reader.GetInt64(7),
            ["event_counts"] = new JsonObject
            {
                ["clickstream"] = aggregate.EventCounts.Clickstream,
                ["store"] = aggregate.EventCounts.Store,
                ["callcenter"] = aggregate.EventCounts.Callcenter,
                ["social"] = aggregate.EventCounts.Social,
            },
            ["features"] = features,
        };
        await reader.DisposeAsync().ConfigureAwait(false);

        await using var types = dataSource.CreateCommand("""
            select i.type, count(*)
            from profiles p cross join unnest(p.pseudonyms) as u(pseudonym) join identifiers i on i.pseudonym = u.pseudonym
            where p.profile_id = @id and i.alias_of is null -- an alias is the same identifier under a previous key
            group by i.type order by i.type
            """);
        types.Parameters.Add(new NpgsqlParameter<string>("id", profileId));
        var identifiers = new JsonObject();
        await using (var typeReader = await types.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await typeReader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                identifiers[typeReader.GetString(0)] = typeReader.GetInt64(1);
            }
        }

        profile["identifiers"] = identifiers;
        profile["segment"] = await segmentOf(profileId, cancellationToken).ConfigureAwait(false);
        profile["kept_events"] = await KeptEventsAsync(dataSource, profileId, cancellationToken).ConfigureAwait(false);
        result["found"] = true;
        result["profile"] = profile;
        return result;
    }

    /// <summary>Events kept for undoing merges (Identity:LineageRetention), of the profile and those merged into it.</summary>
    private static async Task<long> KeptEventsAsync(NpgsqlDataSource dataSource, string profileId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"""
            select (select count(*) from lineage_events where profile_id = any({LineageStore.ComponentOf}))
                + (select coalesce(sum(json_array_length(coalesce(events_text::json, events))), 0) from lineage_event_groups where profile_id = any({LineageStore.ComponentOf}))
            """);
        command.Parameters.Add(new NpgsqlParameter<string>("id", profileId));
        return (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }
}
