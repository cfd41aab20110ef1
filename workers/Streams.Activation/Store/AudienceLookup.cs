using Npgsql;
using Streams.Activation.Requests;
using Streams.Profiles.Store;
using Streams.Segmentation.Store;

namespace Streams.Activation.Store;

/// <summary>
/// The join itself for a bounded set of rows: two set-based lookups (pseudonyms → profiles through the profiles
/// capability, profiles → published segments through the segmentation capability), then the matcher's rules per row.
/// </summary>
public static class AudienceLookup
{
    public static List<ActivationAnswer> Answer(NpgsqlConnection connection, NpgsqlTransaction? transaction, IReadOnlyList<PseudonymousRequest> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var profiles = ProfileDirectory.Resolve(connection, transaction, [.. rows.SelectMany(r => r.Pseudonyms).Distinct(StringComparer.Ordinal)]);
        // Segments only of profiles that may be answered: an opted-out profile's row is never read.
        var segments = SegmentDirectory.Published(connection, transaction,
            [.. profiles.Values.Where(p => p.PersonalizationAllowed).Select(p => p.ProfileId).Distinct(StringComparer.Ordinal)]);
        return [.. rows.Select(r => ActivationMatcher.Answer(r, profiles, segments))];
    }
}
