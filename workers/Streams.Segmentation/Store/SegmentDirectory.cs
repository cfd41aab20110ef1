using System.Text.Json;
using Npgsql;
using Streams.Contracts.Segments;
using Streams.Segmentation.Engine;
using Streams.Segmentation.Model;

namespace Streams.Segmentation.Store;

/// <summary>A profile's segment as campaign systems have it on <c>segments</c>.</summary>
/// <param name="SegmentId">The segment.</param>
/// <param name="ModelVersion">The model that assigned it.</param>
/// <param name="Summary">The assignment's one-sentence explanation.</param>
public sealed record PublishedSegment(int SegmentId, long ModelVersion, string Summary);

/// <summary>Read-only lookups of published segment assignments for other capabilities (the activation worker).</summary>
public static class SegmentDirectory
{
    /// <summary>
    /// The published assignment of each of <paramref name="profileIds"/> that has one: a member of a segment still below
    /// the privacy floor (not published) has none here, as on <c>segments</c>. One statement; the caller bounds the array.
    /// </summary>
    public static Dictionary<string, PublishedSegment> Published(NpgsqlConnection connection, NpgsqlTransaction? transaction, IReadOnlyCollection<string> profileIds)
    {
        ArgumentNullException.ThrowIfNull(profileIds);
        var found = new Dictionary<string, PublishedSegment>(StringComparer.Ordinal);
        if (profileIds.Count == 0)
        {
            return found;
        }

        using var command = new NpgsqlCommand($"""
            select profile_id, segment_id, model_version, assignment->>'{SegmentRecordNames.Summary}'
            from segment_assignments
            where profile_id = any(@ids) and published and segment_id is not null and assignment is not null
            """, connection, transaction);
        command.Parameters.Add(new NpgsqlParameter<string[]>("ids", [.. profileIds]));
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            found[reader.GetString(0)] = new PublishedSegment(reader.GetInt32(1), reader.GetInt64(2), reader.IsDBNull(3) ? string.Empty : reader.GetString(3));
        }

        return found;
    }

    /// <summary>
    /// The explanation of <paramref name="profileId"/>'s current assignment as stored (the <c>segments</c> record's
    /// assignment), or null when it has none or segmentation has never run against this database.
    /// </summary>
    public static async Task<string?> AssignmentJsonAsync(NpgsqlDataSource dataSource, string profileId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        await using var exists = dataSource.CreateCommand("select to_regclass('segment_assignments') is not null");
        if (!(bool)(await exists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!)
        {
            return null;
        }

        await using var command = dataSource.CreateCommand("select assignment::text from segment_assignments where profile_id = @id");
        command.Parameters.Add(new NpgsqlParameter<string>("id", profileId));
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string;
    }

    /// <summary>The current model's centroids and scaler (not the reservoir sample), or nulls before the first seed.</summary>
    public static (KMeansState? Model, RunningScalerState? Scaler) Model(NpgsqlConnection connection, NpgsqlTransaction? transaction)
    {
        using var command = new NpgsqlCommand(
            "select checkpoint->>'model', checkpoint->>'scaler' from segmentation_model where id = 1", connection, transaction);
        using var reader = command.ExecuteReader();
        if (!reader.Read())
        {
            return (null, null);
        }

        return (reader.IsDBNull(0) ? null : JsonSerializer.Deserialize(reader.GetString(0), SegmentationJsonContext.Default.KMeansState),
            reader.IsDBNull(1) ? null : JsonSerializer.Deserialize(reader.GetString(1), SegmentationJsonContext.Default.RunningScalerState));
    }
}
