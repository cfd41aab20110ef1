using Npgsql;

namespace Streams.Infrastructure.Postgres;

/// <summary>
/// What each SQL statement cost a throwaway cluster (<see cref="LocalPostgresCluster"/>) between a start and a read, from
/// PostgreSQL's <c>pg_stat_statements</c>: the measurements of where the database's time goes are then part of a
/// benchmark's report instead of a local change to the cluster.
/// </summary>
/// <remarks>
/// The module can only be loaded when the server starts, so a local cluster loads it whenever the server has it, with
/// tracking off (<see cref="ServerSettings"/>): no query is fingerprinted or counted until <see cref="StartAsync"/> turns
/// tracking on, which a configuration reload does without a restart. The view lives in a database of its own, so the
/// workers' database gains no extension or schema. Query texts are the normalized ones (constants are placeholders);
/// the workers pass every value as a parameter in any case.
/// </remarks>
public static class StatementStatistics
{
    private const string Module = "pg_stat_statements";
    private const string Database = "statement_statistics";

    /// <summary>
    /// The lines for postgresql.conf that load the module idle, or nothing when the server in
    /// <paramref name="binDirectory"/> comes without it (its library is in the <c>lib</c> folder beside the server's own
    /// <c>bin</c>; a link to the server, as on PATH, is followed there) or is older than PostgreSQL 14, which has no
    /// <c>compute_query_id</c> to keep it idle and would refuse to start with it.
    /// </summary>
    /// <param name="majorVersion">The cluster's, from its data folder's <c>PG_VERSION</c>.</param>
    public static string ServerSettings(string binDirectory, int majorVersion) =>
        majorVersion >= 14 && File.Exists(Path.Combine(ServerBinDirectory(binDirectory), "..", "lib", Module + ".so"))
            ? $"""
              # pg_stat_statements, idle until a measurement turns it on (StatementStatistics): loading it needs a restart,
              # tracking only a reload.
              shared_preload_libraries = '{Module}'
              compute_query_id = off
              {Module}.track = none

              """
            : "";

    private static string ServerBinDirectory(string binDirectory)
    {
        var server = new FileInfo(Path.Combine(binDirectory, "postgres"));
        var target = server.LinkTarget is null ? null : server.ResolveLinkTarget(returnFinalTarget: true);
        return Path.GetDirectoryName((target ?? server).FullName) ?? binDirectory;
    }

    /// <summary>
    /// Turns tracking on (every top-level statement) and clears what was counted. False when the server did not load the
    /// module: then there is nothing to read.
    /// </summary>
    /// <param name="connectionString">A superuser's, to any database of the cluster.</param>
    public static async Task<bool> StartAsync(string connectionString, CancellationToken cancellationToken = default)
    {
        await using (var connection = await OpenAsync(connectionString, null, cancellationToken).ConfigureAwait(false))
        {
            if (!await IsLoadedAsync(connection, cancellationToken).ConfigureAwait(false))
            {
                return false;
            }

            await using var exists = new NpgsqlCommand("select 1 from pg_database where datname = @name", connection)
            {
                Parameters = { new NpgsqlParameter<string>("name", Database) },
            };
            if (await exists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is null)
            {
                await ExecuteAsync(connection, $"create database {Database}", cancellationToken).ConfigureAwait(false);
            }
        }

        await using (var statistics = await OpenAsync(connectionString, Database, cancellationToken).ConfigureAwait(false))
        {
            await ExecuteAsync(statistics, $"create extension if not exists {Module}", cancellationToken).ConfigureAwait(false);
            await SetTrackingAsync(statistics, on: true, cancellationToken).ConfigureAwait(false);
            await ExecuteAsync(statistics, $"select {Module}_reset()", cancellationToken).ConfigureAwait(false);
        }

        return true;
    }

    /// <summary>
    /// The statements run in <paramref name="database"/> since <see cref="StartAsync"/>, the costliest in execution time
    /// first, and the sum of all of them; tracking is turned off again.
    /// </summary>
    public static async Task<StatementCosts> ReadAsync(string connectionString, string database, int top, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(top);
        await using var statistics = await OpenAsync(connectionString, Database, cancellationToken).ConfigureAwait(false);
        var statements = new List<StatementCost>();
        await using (var command = new NpgsqlCommand(
                         $"""
                          select query, calls, rows, total_exec_time, shared_blks_hit + shared_blks_read, wal_bytes, total_plan_time
                          from {Module} s join pg_database d on d.oid = s.dbid
                          where d.datname = @database
                          order by total_exec_time desc
                          """, statistics))
        {
            command.Parameters.Add(new NpgsqlParameter<string>("database", database));
            await using var rows = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await rows.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                // No text when the module's file of texts was lost (it is rebuilt as it grows); the figures still count.
                var query = rows.IsDBNull(0) ? "(text not kept)" : rows.GetString(0);
                statements.Add(new StatementCost(query, rows.GetInt64(1), rows.GetInt64(2), rows.GetDouble(3), rows.GetInt64(4),
                    (long)rows.GetDecimal(5), rows.GetDouble(6)));
            }
        }

        await SetTrackingAsync(statistics, on: false, cancellationToken).ConfigureAwait(false);
        var all = new StatementCost("(all statements)", statements.Sum(s => s.Calls), statements.Sum(s => s.Rows), statements.Sum(s => s.ExecutionMs),
            statements.Sum(s => s.SharedBlocks), statements.Sum(s => s.WalBytes), statements.Sum(s => s.PlanningMs));
        return new StatementCosts([.. statements.Take(top)], all, statements.Count);
    }

    // Both settings are the superuser's to change and take effect at each backend's next command after the reload.
    private static async Task SetTrackingAsync(NpgsqlConnection connection, bool on, CancellationToken cancellationToken)
    {
        await ExecuteAsync(connection, on ? "alter system set compute_query_id = on" : "alter system reset compute_query_id", cancellationToken)
            .ConfigureAwait(false);
        await ExecuteAsync(connection, on ? $"alter system set {Module}.track = top" : $"alter system reset {Module}.track", cancellationToken)
            .ConfigureAwait(false);
        // Planning is counted apart from execution, and only when asked: a statement sent unprepared is planned at every
        // execution, which no execution time shows (benchmarks/README.md, statements prepared on the workers' connections).
        await ExecuteAsync(connection, on ? $"alter system set {Module}.track_planning = on" : $"alter system reset {Module}.track_planning",
            cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, "select pg_reload_conf()", cancellationToken).ConfigureAwait(false);
    }

    private static async Task<bool> IsLoadedAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("select current_setting('shared_preload_libraries')", connection);
        var libraries = (string?)await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) ?? "";
        return libraries.Split(',', StringSplitOptions.TrimEntries).Contains(Module, StringComparer.Ordinal);
    }

    private static async Task<NpgsqlConnection> OpenAsync(string connectionString, string? database, CancellationToken cancellationToken)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false };
        if (database is not null)
        {
            builder.Database = database;
        }

        var connection = new NpgsqlConnection(builder.ConnectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>One normalized statement's totals over a measurement (<see cref="StatementStatistics"/>).</summary>
/// <param name="SharedBlocks">Shared buffer blocks it touched: found in the cache plus read in.</param>
public sealed record StatementCost(string Query, long Calls, long Rows, double ExecutionMs, long SharedBlocks, long WalBytes, double PlanningMs);

/// <summary>The costliest statements of a measurement, the sum of all, and how many distinct statements there were.</summary>
public sealed record StatementCosts(IReadOnlyList<StatementCost> Top, StatementCost All, int Distinct);
