using Streams.Infrastructure.Hosting;
using Streams.Infrastructure.Postgres;

namespace Streams.UnitTests.Infrastructure;

public sealed class KafkaOptionsTests
{
    [Theory]
    [InlineData(null, true)]
    [InlineData("", true)]
    [InlineData("  ", true)]
    [InlineData("embedded", true)]
    [InlineData(" Embedded ", true)]
    [InlineData("localhost:9092", false)]
    [InlineData("a:9092,b:9092", false)]
    public void UseEmbedded_OnlyWhenUnsetOrEmbedded(string? bootstrap, bool embedded) =>
        Assert.Equal(embedded, new KafkaOptions { BootstrapServers = bootstrap }.UseEmbedded);

    [Fact]
    public void BundledMigrations_AreOrderedAndUnique()
    {
        var ids = MigrationRunner.Bundled.Select(m => m.Id).ToList();
        Assert.NotEmpty(ids);
        Assert.Equal(ids.Order(StringComparer.Ordinal), ids);
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.All(ids, id => Assert.Matches("^[0-9]{4}_[a-z0-9_]+$", id));
    }

    [Fact]
    public void MigrationChecksum_FollowsTheSql()
    {
        var migration = new Migration("0001_x", "select 1");
        Assert.NotEqual(migration.Checksum, (migration with { Sql = "select 2" }).Checksum);
        Assert.Equal(migration.Checksum, new Migration("0001_y", "select 1").Checksum);
    }
}
