using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using Streams.Contracts;
using Streams.Contracts.Quarantine;
using Streams.Infrastructure.Postgres;
using Streams.Ingest.Worker;

namespace Streams.Quality.Stewardship;

/// <summary>A quarantine record as the index keeps it: <see cref="RecordJson"/> is the masked copy ingest wrote.</summary>
public sealed record IndexedQuarantine(
    SourcePosition Source, string? EventId, string Disposition, IReadOnlyList<QuarantineReason> Reasons, string? RecordJson,
    DateTimeOffset QuarantinedAt);

/// <summary>The SQL of the quarantine index, the steward audit and the replay claims (migration 0500).</summary>
public static class StewardshipRepository
{
    /// <summary>The name the index worker's offsets and partition epochs are kept under.</summary>
    public const string Consumer = "quarantine-index";

    public const string ViewOriginal = "view_original";
    public const string Replay = "replay";
    public const string BulkReplay = "bulk_replay";

    /// <summary>
    /// Stores a batch of quarantine records (a record already indexed is left as it is: a batch read again changes
    /// nothing), records what ingest made of replayed records among them, and stores the offsets after the batch, behind
    /// the fence, in the caller's transaction.
    /// </summary>
    public static void SaveIndex(NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyList<IndexedQuarantine> rows,
        IReadOnlyList<(string Topic, int Partition, long NextOffset)> offsets, IReadOnlyDictionary<(string Topic, int Partition), long> epochs,
        DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(rows);
        using var batch = new NpgsqlBatch(connection, transaction);
        if (rows.Count > 0)
        {
            var insert = new NpgsqlBatchCommand("""
                insert into quarantine_index (topic, partition, "offset", event_id, disposition, reason_codes, reasons, record, quarantined_at)
                select topic, partition, "offset", event_id, disposition, array(select jsonb_array_elements(reasons) ->> 'code'), reasons,
                       record::json, quarantined_at
                from unnest(@topics, @partitions, @offsets, @event_ids, @dispositions, @reasons, @records, @at)
                     as u(topic, partition, "offset", event_id, disposition, reasons, record, quarantined_at)
                on conflict (topic, partition, "offset") do nothing
                """);
            insert.Parameters.Add(new NpgsqlParameter<string[]>("topics", [.. rows.Select(r => r.Source.Topic)]));
            insert.Parameters.Add(new NpgsqlParameter<int[]>("partitions", [.. rows.Select(r => r.Source.Partition)]));
            insert.Parameters.Add(new NpgsqlParameter<long[]>("offsets", [.. rows.Select(r => r.Source.Offset)]));
            insert.Parameters.Add(new NpgsqlParameter("event_ids", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = rows.Select(r => (object?)r.EventId ?? DBNull.Value).ToArray() });
            insert.Parameters.Add(new NpgsqlParameter<string[]>("dispositions", [.. rows.Select(r => r.Disposition)]));
            insert.Parameters.Add(new NpgsqlParameter<string[]>("reasons", [.. rows.Select(r => ReasonsJson(r.Reasons))]) { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Jsonb });
            insert.Parameters.Add(new NpgsqlParameter("records", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = rows.Select(r => (object?)r.RecordJson ?? DBNull.Value).ToArray() });
            insert.Parameters.Add(new NpgsqlParameter<DateTimeOffset[]>("at", [.. rows.Select(r => r.QuarantinedAt)]));
            batch.BatchCommands.Add(insert);

            // A replayed record that ingest quarantined or flagged has its quarantine record at the replayed position.
            var outcomes = new NpgsqlBatchCommand("""
                update steward_replays r set outcome = u.disposition || ':' || u.codes
                from unnest(@topics, @partitions, @offsets, @dispositions, @codes) as u(topic, partition, "offset", disposition, codes)
                where r.topic = u.topic and r.replayed_partition = u.partition and r.replayed_offset = u."offset"
                """);
            outcomes.Parameters.Add(new NpgsqlParameter<string[]>("topics", [.. rows.Select(r => r.Source.Topic)]));
            outcomes.Parameters.Add(new NpgsqlParameter<int[]>("partitions", [.. rows.Select(r => r.Source.Partition)]));
            outcomes.Parameters.Add(new NpgsqlParameter<long[]>("offsets", [.. rows.Select(r => r.Source.Offset)]));
            outcomes.Parameters.Add(new NpgsqlParameter<string[]>("dispositions", [.. rows.Select(r => r.Disposition)]));
            outcomes.Parameters.Add(new NpgsqlParameter<string[]>("codes", [.. rows.Select(r => string.Join(',', r.Reasons.Select(c => c.Code).Distinct()))]));
            batch.BatchCommands.Add(outcomes);
        }

        if (offsets.Count > 0)
        {
            batch.BatchCommands.Add(ConsumerOffsets.Save(Consumer, offsets, epochs, now));
        }

        if (batch.BatchCommands.Count > 0)
        {
            PartitionEpochs.Run(batch.ExecuteNonQuery);
        }
    }

    /// <summary>Deletes index rows quarantined before <paramref name="before"/>, as the quarantine topics' retention does.</summary>
    public static int Prune(NpgsqlDataSource dataSource, DateTimeOffset before)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        using var command = dataSource.CreateCommand("delete from quarantine_index where quarantined_at < @before");
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("before", before));
        return command.ExecuteNonQuery();
    }

    public static async Task<QuarantinePage> BrowseAsync(NpgsqlDataSource dataSource, QuarantineQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentNullException.ThrowIfNull(query);
        const string Filter = """
            from quarantine_index q
            where (@topic::text is null or q.topic = @topic) and (@reason::text is null or q.reason_codes @> array[@reason::text])
              and (@from::timestamptz is null or q.quarantined_at >= @from) and (@to::timestamptz is null or q.quarantined_at < @to)
            """;
        await LearnAcceptedAsync(dataSource, cancellationToken).ConfigureAwait(false);
        await using var batch = dataSource.CreateBatch();
        var page = new NpgsqlBatchCommand($"""
            select {Columns} {Filter}
            order by q.quarantined_at desc, q.topic, q.partition, q."offset" desc
            limit @limit offset @skip
            """);
        var count = new NpgsqlBatchCommand($"select count(*) {Filter}");
        foreach (var command in new[] { page, count })
        {
            command.Parameters.Add(new NpgsqlParameter("topic", NpgsqlDbType.Text) { Value = (object?)query.Topic ?? DBNull.Value });
            command.Parameters.Add(new NpgsqlParameter("reason", NpgsqlDbType.Text) { Value = (object?)query.ReasonCode ?? DBNull.Value });
            command.Parameters.Add(new NpgsqlParameter("from", NpgsqlDbType.TimestampTz) { Value = (object?)query.From ?? DBNull.Value });
            command.Parameters.Add(new NpgsqlParameter("to", NpgsqlDbType.TimestampTz) { Value = (object?)query.To ?? DBNull.Value });
        }

        var size = Math.Clamp(query.PageSize, 1, 1000);
        page.Parameters.Add(new NpgsqlParameter<int>("limit", size));
        page.Parameters.Add(new NpgsqlParameter<long>("skip", (long)Math.Max(query.Page, 0) * size));
        batch.BatchCommands.Add(page);
        batch.BatchCommands.Add(count);
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var entries = new List<QuarantineEntry>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            entries.Add(ReadEntry(reader));
        }

        await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        return new QuarantinePage(entries, reader.GetInt64(0));
    }

    public static async Task<QuarantineEntry?> FindAsync(NpgsqlDataSource dataSource, SourcePosition source, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentNullException.ThrowIfNull(source);
        await LearnAcceptedAsync(dataSource, cancellationToken).ConfigureAwait(false);
        await using var batch = dataSource.CreateBatch();
        var find = new NpgsqlBatchCommand($"""
            select {Columns} from quarantine_index q where q.topic = @topic and q.partition = @partition and q."offset" = @offset
            """);
        AddPosition(find.Parameters, source);
        batch.BatchCommands.Add(find);
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? ReadEntry(reader) : null;
    }

    /// <summary>Writes one audit row; returns its id.</summary>
    public static async Task<long> AuditAsync(
        NpgsqlDataSource dataSource, DateTimeOffset at, string steward, string action, SourcePosition? source, string outcome, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        await using var command = dataSource.CreateCommand("""
            insert into steward_audit (at, steward, action, topic, partition, "offset", outcome)
            values (@at, @steward, @action, @topic, @partition, @offset, @outcome) returning id
            """);
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("at", at));
        command.Parameters.Add(new NpgsqlParameter<string>("steward", steward));
        command.Parameters.Add(new NpgsqlParameter<string>("action", action));
        command.Parameters.Add(new NpgsqlParameter("topic", NpgsqlDbType.Text) { Value = (object?)source?.Topic ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter("partition", NpgsqlDbType.Integer) { Value = (object?)source?.Partition ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter("offset", NpgsqlDbType.Bigint) { Value = (object?)source?.Offset ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter<string>("outcome", outcome));
        return (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    /// <summary>
    /// Audits a replay of <paramref name="source"/> and claims it, in one transaction: true when this call holds the claim,
    /// false when the original was claimed before (the audit row then says <c>already_replayed</c>). The primary key
    /// decides between two stewards asking at once.
    /// </summary>
    public static async Task<(long AuditId, bool Claimed)> ClaimReplayAsync(NpgsqlDataSource dataSource, DateTimeOffset at, string steward,
        string action, SourcePosition source, string? eventId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentNullException.ThrowIfNull(source);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand("""
            with audit as (
                insert into steward_audit (at, steward, action, topic, partition, "offset", outcome)
                values (@at, @steward, @action, @topic, @partition, @offset, 'replaying') returning id
            ), claim as (
                insert into steward_replays (topic, partition, "offset", steward, replayed_at, audit_id, event_id, outcome)
                select @topic, @partition, @offset, @steward, @at, id, @event_id, 'replaying' from audit
                on conflict (topic, partition, "offset") do nothing
                returning 1
            )
            select (select id from audit), exists (select 1 from claim)
            """, connection, transaction);
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("at", at));
        command.Parameters.Add(new NpgsqlParameter<string>("steward", steward));
        command.Parameters.Add(new NpgsqlParameter<string>("action", action));
        AddPosition(command.Parameters, source);
        command.Parameters.Add(new NpgsqlParameter("event_id", NpgsqlDbType.Text) { Value = (object?)eventId ?? DBNull.Value });
        long auditId;
        bool claimed;
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            (auditId, claimed) = (reader.GetInt64(0), reader.GetBoolean(1));
        }

        if (!claimed)
        {
            await using var refused = new NpgsqlCommand("update steward_audit set outcome = 'already_replayed' where id = @id", connection, transaction);
            refused.Parameters.Add(new NpgsqlParameter<long>("id", auditId));
            await refused.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return (auditId, claimed);
    }

    /// <summary>Records where the claimed replay of <paramref name="source"/> was written.</summary>
    public static async Task ReplayedAsync(NpgsqlDataSource dataSource, SourcePosition source, SourcePosition replayedAs, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentNullException.ThrowIfNull(replayedAs);
        await using var batch = dataSource.CreateBatch();
        var replay = new NpgsqlBatchCommand("""
            update steward_replays set replayed_partition = @replayed_partition, replayed_offset = @replayed_offset, outcome = 'replayed'
            where topic = @topic and partition = @partition and "offset" = @offset
            """);
        AddPosition(replay.Parameters, source);
        replay.Parameters.Add(new NpgsqlParameter<int>("replayed_partition", replayedAs.Partition));
        replay.Parameters.Add(new NpgsqlParameter<long>("replayed_offset", replayedAs.Offset));
        var audit = new NpgsqlBatchCommand("""
            update steward_audit a set outcome = 'replayed' from steward_replays r
            where r.topic = @topic and r.partition = @partition and r."offset" = @offset and a.id = r.audit_id
            """);
        AddPosition(audit.Parameters, source);
        batch.BatchCommands.Add(replay);
        batch.BatchCommands.Add(audit);
        await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Gives a claim back when nothing was written (the original is past retention, an edit was refused, the broker
    /// refused the record): the original may be replayed later. The audit row keeps <paramref name="outcome"/>.
    /// </summary>
    public static async Task ReleaseAsync(NpgsqlDataSource dataSource, SourcePosition source, long auditId, string outcome, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        await using var batch = dataSource.CreateBatch();
        var release = new NpgsqlBatchCommand("""
            delete from steward_replays where topic = @topic and partition = @partition and "offset" = @offset and audit_id = @id
            """);
        AddPosition(release.Parameters, source);
        release.Parameters.Add(new NpgsqlParameter<long>("id", auditId));
        var audit = new NpgsqlBatchCommand("update steward_audit set outcome = @outcome where id = @id");
        audit.Parameters.Add(new NpgsqlParameter<string>("outcome", outcome));
        audit.Parameters.Add(new NpgsqlParameter<long>("id", auditId));
        batch.BatchCommands.Add(release);
        batch.BatchCommands.Add(audit);
        await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The audit, newest first, with each replay's outcome as known now.</summary>
    public static async Task<IReadOnlyList<StewardAuditEntry>> AuditListAsync(NpgsqlDataSource dataSource, StewardAuditQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentNullException.ThrowIfNull(query);
        await LearnAcceptedAsync(dataSource, cancellationToken).ConfigureAwait(false);
        await using var batch = dataSource.CreateBatch();
        var list = new NpgsqlBatchCommand("""
            select a.id, a.at, a.steward, a.action, a.topic, a.partition, a."offset", coalesce(r.outcome, a.outcome)
            from steward_audit a left join steward_replays r on r.audit_id = a.id
            where (@steward::text is null or a.steward = @steward)
            order by a.id desc
            limit @limit
            """);
        list.Parameters.Add(new NpgsqlParameter("steward", NpgsqlDbType.Text) { Value = (object?)query.Steward ?? DBNull.Value });
        list.Parameters.Add(new NpgsqlParameter<int>("limit", Math.Clamp(query.Limit, 1, 10_000)));
        batch.BatchCommands.Add(list);
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var entries = new List<StewardAuditEntry>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var source = reader.IsDBNull(4) ? null : new SourcePosition(reader.GetString(4), reader.GetInt32(5), reader.GetInt64(6));
            entries.Add(new StewardAuditEntry(reader.GetInt64(0), reader.GetFieldValue<DateTimeOffset>(1), reader.GetString(2), reader.GetString(3),
                source, reader.GetString(7)));
        }

        return entries;
    }

    /// <summary>The quarantine records of one topic and reason code in [from, to) that were not used (disposition quarantined), oldest first.</summary>
    public static async Task<IReadOnlyList<(SourcePosition Source, string? EventId)>> QuarantinedAsync(
        NpgsqlDataSource dataSource, string topic, string reasonCode, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        await using var command = dataSource.CreateCommand("""
            select partition, "offset", event_id from quarantine_index
            where topic = @topic and reason_codes @> array[@reason::text] and disposition = 'quarantined'
              and quarantined_at >= @from and quarantined_at < @to
            order by partition, "offset"
            """);
        command.Parameters.Add(new NpgsqlParameter<string>("topic", topic));
        command.Parameters.Add(new NpgsqlParameter<string>("reason", reasonCode));
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("from", from));
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("to", to));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var found = new List<(SourcePosition, string?)>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            found.Add((new SourcePosition(topic, reader.GetInt32(0), reader.GetInt64(1)), reader.IsDBNull(2) ? null : reader.GetString(2)));
        }

        return found;
    }

    /// <summary>
    /// Replays whose record holds the claim on its event id in ingest's de-duplication were accepted: learnt when someone
    /// looks (the audit, the browser, a record), from ingest's reader of its claims, for the replays not yet judged (the
    /// oldest 10,000 at a look: after a bulk replay of more, each look learns the next ones).
    /// </summary>
    private static async Task LearnAcceptedAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        var waiting = new List<(string Topic, string EventId, int Partition, long Offset)>();
        await using (var pending = dataSource.CreateCommand("""
            select topic, event_id, replayed_partition, replayed_offset from steward_replays
            where outcome = 'replayed' and event_id is not null and replayed_partition is not null and replayed_offset is not null
            order by replayed_at limit 10000
            """))
        await using (var reader = await pending.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                waiting.Add((reader.GetString(0), reader.GetString(1), reader.GetInt32(2), reader.GetInt64(3)));
            }
        }

        var accepted = await IngestStateRepository.HoldersAsync(dataSource, waiting, cancellationToken).ConfigureAwait(false);
        if (accepted.Count == 0)
        {
            return;
        }

        await using var learn = dataSource.CreateCommand("""
            update steward_replays r set outcome = 'accepted'
            from unnest(@topics, @partitions, @offsets) as a(topic, partition, "offset")
            where r.outcome = 'replayed' and r.topic = a.topic and r.replayed_partition = a.partition and r.replayed_offset = a."offset"
            """);
        learn.Parameters.Add(new NpgsqlParameter<string[]>("topics", [.. accepted.Select(a => a.Topic)]));
        learn.Parameters.Add(new NpgsqlParameter<int[]>("partitions", [.. accepted.Select(a => a.Partition)]));
        learn.Parameters.Add(new NpgsqlParameter<long[]>("offsets", [.. accepted.Select(a => a.Offset)]));
        await learn.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    internal static string ReasonsJson(IReadOnlyList<QuarantineReason> reasons) =>
        JsonSerializer.Serialize([.. reasons], StewardshipJsonContext.Default.ListQuarantineReason);

    private const string Columns = """
        q.topic, q.partition, q."offset", q.event_id, q.disposition, q.reasons::text, q.record::text, q.quarantined_at,
        (select r.outcome from steward_replays r where r.topic = q.topic and r.partition = q.partition and r."offset" = q."offset")
        """;

    private static QuarantineEntry ReadEntry(NpgsqlDataReader reader) => new(
        new SourcePosition(reader.GetString(0), reader.GetInt32(1), reader.GetInt64(2)),
        reader.IsDBNull(3) ? null : reader.GetString(3),
        reader.GetString(4),
        JsonSerializer.Deserialize(reader.GetString(5), StewardshipJsonContext.Default.ListQuarantineReason) ?? [],
        reader.IsDBNull(6) ? null : reader.GetString(6),
        reader.GetFieldValue<DateTimeOffset>(7),
        reader.IsDBNull(8) ? null : reader.GetString(8));

    private static void AddPosition(NpgsqlParameterCollection parameters, SourcePosition source)
    {
        parameters.Add(new NpgsqlParameter<string>("topic", source.Topic));
        parameters.Add(new NpgsqlParameter<int>("partition", source.Partition));
        parameters.Add(new NpgsqlParameter<long>("offset", source.Offset));
    }
}
