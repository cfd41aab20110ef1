using Npgsql;
using Streams.Infrastructure.Postgres;
using Testcontainers.PostgreSql;

namespace Streams.IntegrationTests.Fixtures;

/// <summary>
/// The run's one PostgreSQL server: <c>STREAMS_TEST_POSTGRES</c> (a connection string) when set, else Testcontainers
/// when Docker answers, else a throwaway cluster from the machine's binaries. Tests isolate themselves with a database each.
/// </summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    private PostgreSqlContainer? container;

    public string AdminConnectionString { get; private set; } = string.Empty;

    public string Kind { get; private set; } = string.Empty;

    /// <summary>The local cluster, when that is what the run uses (outage tests stop and restart it).</summary>
    public LocalPostgresCluster? Local { get; private set; }

    public async Task InitializeAsync()
    {
        if (Environment.GetEnvironmentVariable("STREAMS_TEST_POSTGRES") is { Length: > 0 } configured)
        {
            (AdminConnectionString, Kind) = (configured, "env");
        }
        else if (DockerProbe.IsAvailable)
        {
            container = new PostgreSqlBuilder("postgres:15").Build();
            await container.StartAsync();
            (AdminConnectionString, Kind) = (container.GetConnectionString(), "testcontainers");
        }
        else
        {
            Local = await LocalPostgresCluster.StartAsync();
            (AdminConnectionString, Kind) = (Local.ConnectionString, "local");
        }
    }

    /// <summary>Creates an empty database for one test and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string prefix = "t")
    {
        var name = $"{prefix}_{Guid.NewGuid():N}";
        await using (var connection = new NpgsqlConnection(AdminConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"create database \"{name}\"", connection);
            await command.ExecuteNonQueryAsync();
        }

        return new NpgsqlConnectionStringBuilder(AdminConnectionString) { Database = name }.ConnectionString;
    }

    public async Task DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        if (Local is not null)
        {
            await Local.DisposeAsync();
        }

        if (container is not null)
        {
            await container.DisposeAsync();
        }
    }
}
