using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Streams.Infrastructure.Postgres;
using Streams.IntegrationTests.Fixtures;
using Streams.Profiles.Store;

namespace Streams.IntegrationTests.Profiles;

[Collection(IntegrationCollection.Name)]
public sealed class ProfileRepositoryTests(PostgresFixture postgres)
{
    private const int Profiles = 50_000;
    private const int IdentifiersPerProfile = 5;

    /// <summary>
    /// A batch's lookup must cost what the batch holds, not what the tables hold: with a batch's thousands of pseudonyms
    /// (most of them new) the planner hashed them and scanned both tables whole, a cost growing with every customer ever
    /// seen. The plan must reach every row through an index, and the profiles found must be exactly the known ones.
    /// </summary>
    [Fact]
    public async Task Load_ReachesProfilesThroughIndexes_WhenTheBatchIsLargeAndTheTablesLarger()
    {
        await using var dataSource = NpgsqlDataSource.Create(await postgres.CreateDatabaseAsync());
        await new MigrationRunner(dataSource, NullLogger<MigrationRunner>.Instance)
            .MigrateAsync(Migration.FromAssemblies(typeof(MigrationRunner).Assembly, typeof(ProfileRepository).Assembly));
        await using (var fill = dataSource.CreateCommand($$"""
            insert into profiles (profile_id, first_seen, last_seen, aggregate, personalization_allowed, version, updated_at, pseudonyms)
            select 'p-' || g, now(), now(), '{}', true, 1, now(),
                   array(select 'k1:' || g || '-' || t from generate_series(1, {{IdentifiersPerProfile}}) t order by 1)
            from generate_series(1, {{Profiles}}) g;
            insert into identifiers (pseudonym, type, profile_id, linked_at)
            select 'k1:' || g || '-' || t, 'device', 'p-' || g, now()
            from generate_series(1, {{Profiles}}) g cross join generate_series(1, {{IdentifiersPerProfile}}) t;
            analyze profiles;
            analyze identifiers;
            """))
        {
            await fill.ExecuteNonQueryAsync();
        }

        // A batch: 1,000 known pseudonyms (two of each of 500 profiles) and 3,000 never seen.
        string[] pseudonyms =
        [
            .. Enumerable.Range(1, 500).SelectMany(p => new[] { $"k1:{p * 7}-1", $"k1:{p * 7}-4" }),
            .. Enumerable.Range(1, 3000).Select(n => $"k1:new-{n}"),
        ];

        Assert.Equal(["Index Scan on identifiers", "Index Scan on profiles"], await ScansAsync(dataSource, ProfileRepository.LoadProfilesSql, pseudonyms));
        // The loaded profiles' identifiers: 2,500 pseudonyms, by primary key (there is no index by profile).
        var listed = Enumerable.Range(1, 500).SelectMany(p => Enumerable.Range(1, IdentifiersPerProfile).Select(t => $"k1:{p * 7}-{t}")).ToArray();
        Assert.Equal(["Index Scan on identifiers"], await ScansAsync(dataSource, ProfileRepository.LoadLinksSql, listed));

        await using var connection = await dataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        var state = ProfileRepository.Load(connection, transaction, pseudonyms);
        Assert.Equal(Enumerable.Range(1, 500).Select(p => $"p-{p * 7}").Order(StringComparer.Ordinal), state.Profiles.Keys.Order(StringComparer.Ordinal));
        Assert.All(state.Profiles.Values, p => Assert.Equal(IdentifiersPerProfile, p.Identifiers.Count));
    }

    /// <summary>
    /// A block is about the event: it must be loaded for every pseudonym of the batch, those of profiles carried over from
    /// the batch before too (they are not loaded from the database), or an event on a carried profile re-made the link.
    /// </summary>
    [Fact]
    public async Task Load_ReadsTheBlocksOfEveryPseudonymOfTheBatch_AlsoWhenNoProfileIsToBeLoaded()
    {
        await using var dataSource = NpgsqlDataSource.Create(await postgres.CreateDatabaseAsync());
        await new MigrationRunner(dataSource, NullLogger<MigrationRunner>.Instance)
            .MigrateAsync(Migration.FromAssemblies(typeof(MigrationRunner).Assembly, typeof(ProfileRepository).Assembly));
        await using (var fill = dataSource.CreateCommand(
            "insert into identity_blocks (pseudonym, keep, blocked_at) values ('k1:device', 'k1:email-2', now()), ('k1:device', 'k1:email-3', now())"))
        {
            await fill.ExecuteNonQueryAsync();
        }

        await using var connection = await dataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        foreach (var toLoad in new[] { Array.Empty<string>(), ["k1:new"] })
        {
            var state = ProfileRepository.Load(connection, transaction, toLoad, ["k1:device", "k1:new"]);
            Assert.Equal(["k1:email-2", "k1:email-3"], state.Blocks["k1:device"].Order(StringComparer.Ordinal));
        }
    }

    /// <summary>A merge bridged by an event whose id holds U+0000 (allowed on events) is stored, not refused.</summary>
    [Fact]
    public async Task Save_AMergeWhoseEventIdHoldsNul_IsStored()
    {
        await using var dataSource = NpgsqlDataSource.Create(await postgres.CreateDatabaseAsync());
        await new MigrationRunner(dataSource, NullLogger<MigrationRunner>.Instance)
            .MigrateAsync(Migration.FromAssemblies(typeof(MigrationRunner).Assembly, typeof(ProfileRepository).Assembly));
        var changes = new Streams.Profiles.Processing.BatchChanges();
        var at = DateTimeOffset.UnixEpoch;
        changes.MergeLineage.Add(new Streams.Profiles.Processing.MergeLineage("m-1", "p-a", "p-b", at, "evt\0nul",
            new Streams.Contracts.SourcePosition("canonical", 0, 1), new Streams.Contracts.SourcePosition("store", 0, 1),
            new Streams.Profiles.Identity.MergeEvidence(["k1:a", "k1:b"], ["k1:b"])));

        await using (var connection = await dataSource.OpenConnectionAsync())
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            ProfileRepository.Save(connection, transaction, changes, [], new Dictionary<(string, int), long>(), at);
            await transaction.CommitAsync();
        }

        await using var read = dataSource.CreateCommand("select event_id, identifiers, bridge from merge_lineage");
        await using var reader = await read.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.Equal("evt\uFFFDnul", reader.GetString(0));
        Assert.Equal(["k1:a", "k1:b"], reader.GetFieldValue<string[]>(1));
        Assert.Equal(["k1:b"], reader.GetFieldValue<string[]>(2));
    }

    /// <summary>How the plan of <paramref name="sql"/> reaches each table, e.g. "Index Scan on profiles", distinct and sorted.</summary>
    private static async Task<List<string>> ScansAsync(NpgsqlDataSource dataSource, string sql, string[] pseudonyms)
    {
        await using var explain = dataSource.CreateCommand("explain (format json) " + sql);
        explain.Parameters.Add(new NpgsqlParameter<string[]>("pseudonyms", pseudonyms));
        var plan = (string)(await explain.ExecuteScalarAsync())!;
        return Nodes(JsonDocument.Parse(plan).RootElement[0].GetProperty("Plan"))
            .Where(n => n.TryGetProperty("Relation Name", out _))
            .Select(n => $"{n.GetProperty("Node Type").GetString()} on {n.GetProperty("Relation Name").GetString()}")
            .Distinct().Order(StringComparer.Ordinal).ToList();
    }

    private static IEnumerable<JsonElement> Nodes(JsonElement node)
    {
        yield return node;
        if (node.TryGetProperty("Plans", out var children))
        {
            foreach (var child in children.EnumerateArray().SelectMany(Nodes))
            {
                yield return child;
            }
        }
    }
}
