using Npgsql;
using Streams.Infrastructure.Hosting;

namespace Streams.UnitTests.Infrastructure;

/// <summary>The workers' connections prepare their statements unless the operator says otherwise (<see cref="StreamsEnvironment.WithAutomaticPreparation"/>).</summary>
public sealed class AutomaticPreparationTests
{
    [Fact]
    public void AConnectionStringWithoutIt_GetsAutomaticPreparation_AndKeepsEverythingElse()
    {
        var prepared = new NpgsqlConnectionStringBuilder(
            StreamsEnvironment.WithAutomaticPreparation("Host=db;Port=5433;Username=streams;Password=p;Database=streams;Timeout=7"));

        Assert.Equal(StreamsEnvironment.AutoPreparedStatements, prepared.MaxAutoPrepare);
        Assert.Equal(("db", 5433, "streams", "p", "streams", 7),
            (prepared.Host, prepared.Port, prepared.Username, prepared.Password, prepared.Database, prepared.Timeout));
    }

    [Theory]
    [InlineData("Host=db;Max Auto Prepare=0", 0)]
    [InlineData("Host=db;MaxAutoPrepare=10", 10)]
    [InlineData("Host=db;max auto prepare=200", 200)]
    public void AnOperatorsOwnSetting_IsKept_EvenWhenItTurnsPreparationOff(string connectionString, int expected)
    {
        var result = StreamsEnvironment.WithAutomaticPreparation(connectionString);

        Assert.Equal(connectionString, result);
        Assert.Equal(expected, new NpgsqlConnectionStringBuilder(result).MaxAutoPrepare);
    }
}
