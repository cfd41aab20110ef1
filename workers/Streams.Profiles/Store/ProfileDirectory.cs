using Npgsql;

namespace Streams.Profiles.Store;

/// <summary>A pseudonym's profile and its consent, as the identity graph holds it now.</summary>
/// <param name="ProfileId">The profile the pseudonym is linked to.</param>
/// <param name="PersonalizationAllowed">False after an opt-out, until an opt-in.</param>
public sealed record LinkedProfile(string ProfileId, bool PersonalizationAllowed);

/// <summary>
/// Read-only lookups of the identity graph for other capabilities (the activation worker), so that only this project
/// knows the profiles tables. An erased profile has no rows left, so its pseudonyms are simply not found; an identifier
/// marked shared (CONTRACT §4 <c>identity_conflict</c>) names no one, so it is not found either.
/// </summary>
public static class ProfileDirectory
{
    /// <summary>
    /// The profile of each of <paramref name="pseudonyms"/> that is linked to one, in one statement (the caller bounds the
    /// array). Runs in <paramref name="transaction"/> when given, so it sees the same snapshot as the caller's other reads.
    /// </summary>
    public static Dictionary<string, LinkedProfile> Resolve(NpgsqlConnection connection, NpgsqlTransaction? transaction, IReadOnlyCollection<string> pseudonyms)
    {
        ArgumentNullException.ThrowIfNull(pseudonyms);
        var found = new Dictionary<string, LinkedProfile>(StringComparer.Ordinal);
        if (pseudonyms.Count == 0)
        {
            return found;
        }

        using var command = new NpgsqlCommand("""
            select i.pseudonym, p.profile_id, p.personalization_allowed
            from identifiers i join profiles p on p.profile_id = i.profile_id
            where i.pseudonym = any(@pseudonyms) and i.shared_at is null
            """, connection, transaction);
        command.Parameters.Add(new NpgsqlParameter<string[]>("pseudonyms", [.. pseudonyms]));
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            found[reader.GetString(0)] = new LinkedProfile(reader.GetString(1), reader.GetBoolean(2));
        }

        return found;
    }
}
