using Npgsql;
using Streams.Infrastructure.Postgres;

namespace Streams.IntegrationTests.Postgres;

/// <summary>The throwaway cluster helper itself (its own cluster, not the shared one).</summary>
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
}
