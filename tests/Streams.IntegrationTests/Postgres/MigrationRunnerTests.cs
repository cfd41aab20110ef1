using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Streams.Infrastructure.Postgres;
using Streams.IntegrationTests.Fixtures;

namespace Streams.IntegrationTests.Postgres;

[Collection(IntegrationCollection.Name)]
public sealed class MigrationRunnerTests(PostgresFixture postgres)
{
    private static readonly Migration[] Sample =
    [
        new("0001_first", "create table first_table (id int primary key)"),
        new("0002_second", "create table second_table (id int primary key); insert into second_table values (1), (2)"),
    ];

    [Fact]
    public async Task Migrate_AppliesEachOnce_AndASecondRunIsANoOp()
    {
        await using var dataSource = NpgsqlDataSource.Create(await postgres.CreateDatabaseAsync());
        var runner = new MigrationRunner(dataSource, NullLogger<MigrationRunner>.Instance);

        Assert.Equal(["0001_first", "0002_second"], await runner.MigrateAsync(Sample));
        Assert.Empty(await runner.MigrateAsync(Sample));

        Assert.Equal(2L, await Scalar(dataSource, "select count(*) from second_table"));
        Assert.Equal(2L, await Scalar(dataSource, "select count(*) from schema_migrations"));
    }

    [Fact]
    public async Task Migrate_OnlyTheNewOne_WhenOneIsAdded()
    {
        await using var dataSource = NpgsqlDataSource.Create(await postgres.CreateDatabaseAsync());
        var runner = new MigrationRunner(dataSource, NullLogger<MigrationRunner>.Instance);
        await runner.MigrateAsync(Sample[..1]);
        Assert.Equal(["0002_second"], await runner.MigrateAsync(Sample));
    }

    [Fact]
    public async Task TwoConcurrentRunners_DoNotCollide_AndApplyEachMigrationOnce()
    {
        var connectionString = await postgres.CreateDatabaseAsync();
        // A slow migration widens the window in which the two would collide without the lock.
        Migration[] slow = [new("0001_slow", "select pg_sleep(0.5); create table slow_table (id int)"), .. Sample];
        var results = await Task.WhenAll(Enumerable.Range(0, 2).Select(async _ =>
        {
            // Separate data sources: separate connections, as two processes would have.
            await using var dataSource = NpgsqlDataSource.Create(connectionString);
            return await new MigrationRunner(dataSource, NullLogger<MigrationRunner>.Instance).MigrateAsync(slow);
        }));

        Assert.Equal(3, results.Sum(r => r.Count));
        Assert.Contains(results, r => r.Count == 3);
        await using var check = NpgsqlDataSource.Create(connectionString);
        Assert.Equal(3L, await Scalar(check, "select count(*) from schema_migrations"));
    }

    [Fact]
    public async Task AMigrationWhoseConnectionIsLost_FailsWithThatLoss_NotWithTheUnlockAfterIt()
    {
        // Ctrl-C while migrating can end the connection under a statement (found in a clean-clone CI: the host then
        // reported "Connection is not open" from the lock's release, and exited 1 instead of 0 for the cancellation).
        await using var dataSource = NpgsqlDataSource.Create(await postgres.CreateDatabaseAsync());
        var runner = new MigrationRunner(dataSource, NullLogger<MigrationRunner>.Instance);

        var failure = await Assert.ThrowsAnyAsync<Exception>(() => runner.MigrateAsync([new("0001_lost", "select pg_terminate_backend(pg_backend_pid())")]));

        Assert.IsNotType<InvalidOperationException>(failure);
        Assert.IsAssignableFrom<NpgsqlException>(failure);
        Assert.Empty(await runner.MigrateAsync([]));
    }

    [Fact]
    public async Task AnAppliedMigrationThatWasEdited_IsRefused()
    {
        await using var dataSource = NpgsqlDataSource.Create(await postgres.CreateDatabaseAsync());
        var runner = new MigrationRunner(dataSource, NullLogger<MigrationRunner>.Instance);
        await runner.MigrateAsync(Sample);
        var edited = new[] { Sample[0] with { Sql = "create table first_table (id bigint primary key)" }, Sample[1] };
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => runner.MigrateAsync(edited));
        Assert.Contains("0001_first", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AFailingMigration_LeavesNothingBehind_AndIsNotRecorded()
    {
        await using var dataSource = NpgsqlDataSource.Create(await postgres.CreateDatabaseAsync());
        var runner = new MigrationRunner(dataSource, NullLogger<MigrationRunner>.Instance);
        Migration[] broken = [Sample[0], new("0002_broken", "create table half_done (id int); select * from no_such_table")];
        await Assert.ThrowsAsync<PostgresException>(() => runner.MigrateAsync(broken));

        Assert.Equal(1L, await Scalar(dataSource, "select count(*) from schema_migrations"));
        Assert.Equal(0L, await Scalar(dataSource, "select count(*) from pg_tables where tablename = 'half_done'"));
        // The lock was released: a fixed set runs.
        Assert.Equal(["0002_second"], await runner.MigrateAsync(Sample));
    }

    [Fact]
    public async Task BundledMigrations_ApplyToAnEmptyDatabase()
    {
        await using var dataSource = NpgsqlDataSource.Create(await postgres.CreateDatabaseAsync());
        var applied = await new MigrationRunner(dataSource, NullLogger<MigrationRunner>.Instance).MigrateAsync();
        Assert.Equal(MigrationRunner.Bundled.Select(m => m.Id), applied);
        Assert.Contains("0001_consumer_offsets", applied);
    }

    private static async Task<object?> Scalar(NpgsqlDataSource dataSource, string sql)
    {
        await using var command = dataSource.CreateCommand(sql);
        return await command.ExecuteScalarAsync();
    }
}
