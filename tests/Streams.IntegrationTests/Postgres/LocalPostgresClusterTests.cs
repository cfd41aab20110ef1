using Npgsql;
using Streams.Infrastructure.Postgres;

namespace Streams.IntegrationTests.Postgres;

/// <summary>The throwaway cluster helper itself (its own cluster, not the shared one).</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class LocalPostgresClusterTests
{
    [Fact]
    public async Task Start_AnswersQueries_ThenDisposeStopsItAndRemovesTheFolder()
    {
        Assert.NotNull(LocalPostgresCluster.FindBinaries());
        var cluster = await LocalPostgresCluster.StartAsync();
        var directory = cluster.Directory;
        await using (var dataSource = NpgsqlDataSource.Create(cluster.ConnectionString))
        {
            await using var command = dataSource.CreateCommand("select current_setting('listen_addresses') || ' ' || current_setting('port')");
            Assert.Equal($"127.0.0.1 {cluster.Port}", await command.ExecuteScalarAsync());
        }

        await cluster.DisposeAsync();
        Assert.False(Directory.Exists(directory));
        await using var gone = NpgsqlDataSource.Create(cluster.ConnectionString);
        await Assert.ThrowsAnyAsync<NpgsqlException>(async () => await gone.OpenConnectionAsync());
    }

    [Fact]
    public async Task Start_InAFolderWithALeftoverRunningCluster_ReplacesIt()
    {
        var folder = Path.Combine(Path.GetTempPath(), "streams-pg-reuse-" + Guid.NewGuid().ToString("N")[..8]);
        var first = await LocalPostgresCluster.StartAsync(folder);
        // Simulate a host that was killed: the first cluster is never disposed.
        await using var second = await LocalPostgresCluster.StartAsync(folder);
        await using var dataSource = NpgsqlDataSource.Create(second.ConnectionString);
        await using var command = dataSource.CreateCommand("select 1");
        Assert.Equal(1, await command.ExecuteScalarAsync());
        Assert.NotEqual(first.Port, second.Port);
    }

    [Fact]
    public async Task StopThenRestart_ServesAgainOnTheSamePort()
    {
        await using var cluster = await LocalPostgresCluster.StartAsync();
        await cluster.StopAsync();
        await cluster.RestartAsync();
        await using var dataSource = NpgsqlDataSource.Create(cluster.ConnectionString);
        await using var command = dataSource.CreateCommand("select 2");
        Assert.Equal(2, await command.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Start_InAFolderWithASpaceQuotesAndShellSyntax_Works_WithOwnerOnlyRights()
    {
        // Through a shell unquoted, this name would split into words, end a quoted string, or run a command.
        var folder = Path.Combine(Path.GetTempPath(), $"streams pg it's \"q\" $(touch injected) {Guid.NewGuid().ToString("N")[..6]}");
        var cluster = await LocalPostgresCluster.StartAsync(folder);
        try
        {
            Assert.Equal(folder, cluster.Directory);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(folder));
            Assert.False(File.Exists(Path.Combine(folder, "superuser-password")), "initdb's password file is removed");
            await using (var dataSource = NpgsqlDataSource.Create(cluster.ConnectionString))
            {
                await using var command = dataSource.CreateCommand(
                    "select current_setting('data_directory') || ' ' || current_setting('listen_addresses') || ' ' || current_setting('unix_socket_directories')");
                Assert.Equal($"{Path.Combine(folder, "data")} 127.0.0.1 ", await command.ExecuteScalarAsync());
            }

            await cluster.StopAsync();
            await cluster.RestartAsync();
            await using var restarted = NpgsqlDataSource.Create(cluster.ConnectionString);
            await using var again = restarted.CreateCommand("select 3");
            Assert.Equal(3, await again.ExecuteScalarAsync());
        }
        finally
        {
            await cluster.DisposeAsync();
        }

        Assert.False(Directory.Exists(folder));
        Assert.False(File.Exists("injected"));
        Assert.False(File.Exists(Path.Combine("/", "injected")));
    }

    [Fact]
    public async Task Connections_WithoutTheGeneratedPasswordOrWithAnother_AreRefused()
    {
        await using var cluster = await LocalPostgresCluster.StartAsync();
        var builder = new NpgsqlConnectionStringBuilder(cluster.ConnectionString);
        Assert.Equal(48, builder.Password!.Length);

        await using (var dataSource = NpgsqlDataSource.Create(cluster.ConnectionString))
        {
            // No trust line left behind by initdb: every way in asks for the password.
            await using var command = dataSource.CreateCommand(
                "select count(*) filter (where auth_method <> 'scram-sha-256'), count(*) from pg_hba_file_rules");
            await using var reader = await command.ExecuteReaderAsync();
            Assert.True(await reader.ReadAsync());
            Assert.Equal(0, reader.GetInt64(0));
            Assert.True(reader.GetInt64(1) > 0);
        }

        await using var without = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(cluster.ConnectionString) { Password = null, Passfile = "/dev/null" }.ConnectionString);
        await Assert.ThrowsAnyAsync<NpgsqlException>(async () => await without.OpenConnectionAsync());

        await using var wrong = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(cluster.ConnectionString) { Password = "guess" }.ConnectionString);
        var refused = await Assert.ThrowsAsync<PostgresException>(async () => await wrong.OpenConnectionAsync());
        Assert.Equal(PostgresErrorCodes.InvalidPassword, refused.SqlState);
    }

    [Fact]
    public async Task StatementStatistics_CountTheAskedDatabasesStatements_OnlyBetweenStartAndRead()
    {
        await using var cluster = await LocalPostgresCluster.StartAsync();
        // A new session for each statement: a session reads a reloaded setting when it starts, an idle one only after its
        // next command.
        async Task SeriesAsync(int n)
        {
            await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(cluster.ConnectionString) { Pooling = false }.ConnectionString);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("select count(*) from generate_series(1, $1)", connection) { Parameters = { new() { Value = n } } };
            Assert.Equal((long)n, await command.ExecuteScalarAsync());
        }

        await SeriesAsync(10);
        Assert.True(await StatementStatistics.StartAsync(cluster.ConnectionString));
        for (var i = 0; i < 3; i++)
        {
            await SeriesAsync(1000);
        }

        var costs = await StatementStatistics.ReadAsync(cluster.ConnectionString, "postgres", top: 50);
        var series = Assert.Single(costs.Top, s => s.Query.Contains("generate_series", StringComparison.Ordinal));
        // Normalized: the constant 1 is a placeholder too, numbered after the statement's own parameter.
        Assert.Equal("select count(*) from generate_series($2, $1)", series.Query);
        Assert.Equal(3, series.Calls);
        Assert.Equal(3, series.Rows);
        Assert.True(series.ExecutionMs > 0);
        // Sent unprepared, each of the three was planned, and planning is counted apart.
        Assert.True(series.PlanningMs > 0);
        Assert.True(costs.All.Calls >= series.Calls && costs.All.ExecutionMs >= series.ExecutionMs);
        Assert.Equal(costs.Distinct, costs.Top.Count);
        // The statistics' own statements are in a database of their own, not among the measured ones.
        Assert.DoesNotContain(costs.Top, s => s.Query.Contains("pg_stat_statements", StringComparison.Ordinal));

        // Off again after the read: a later statement is not counted.
        await SeriesAsync(1000);
        var later = await StatementStatistics.ReadAsync(cluster.ConnectionString, "postgres", top: 50);
        Assert.Equal(3, Assert.Single(later.Top, s => s.Query.Contains("generate_series", StringComparison.Ordinal)).Calls);
        Assert.Single((await StatementStatistics.ReadAsync(cluster.ConnectionString, "postgres", top: 1)).Top);
    }
}
