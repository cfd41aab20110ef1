using Streams.Infrastructure.Postgres;

namespace Streams.UnitTests.Infrastructure;

/// <summary>When a throwaway cluster loads pg_stat_statements (<see cref="StatementStatistics.ServerSettings"/>).</summary>
public sealed class StatementStatisticsTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("streams-pgss-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    [Fact]
    public void ServerSettings_LoadTheModuleIdle_OnlyFromPostgreSql14_AndWhenItsLibraryIsBesideTheServer()
    {
        var bin = Layout("15", withLibrary: true);
        var settings = StatementStatistics.ServerSettings(bin, 15);
        Assert.Contains("shared_preload_libraries = 'pg_stat_statements'", settings, StringComparison.Ordinal);
        Assert.Contains("compute_query_id = off", settings, StringComparison.Ordinal);
        Assert.Contains("pg_stat_statements.track = none", settings, StringComparison.Ordinal);

        // PostgreSQL 13 has no compute_query_id and would refuse to start with it; an unknown version is not guessed.
        Assert.Equal("", StatementStatistics.ServerSettings(bin, 13));
        Assert.Equal("", StatementStatistics.ServerSettings(bin, 0));
        Assert.Equal("", StatementStatistics.ServerSettings(Layout("16", withLibrary: false), 16));
    }

    [Fact]
    public void ServerSettings_FollowALinkToTheServer_ToItsOwnLibraries()
    {
        var bin = Layout("15", withLibrary: true);
        var onPath = Directory.CreateDirectory(Path.Combine(root, "path-bin")).FullName;
        File.CreateSymbolicLink(Path.Combine(onPath, "postgres"), Path.Combine(bin, "postgres"));
        Assert.NotEqual("", StatementStatistics.ServerSettings(onPath, 15));
    }

    private string Layout(string version, bool withLibrary)
    {
        var bin = Directory.CreateDirectory(Path.Combine(root, version, "bin")).FullName;
        File.WriteAllText(Path.Combine(bin, "postgres"), "");
        var lib = Directory.CreateDirectory(Path.Combine(root, version, "lib")).FullName;
        if (withLibrary)
        {
            File.WriteAllText(Path.Combine(lib, "pg_stat_statements.so"), "");
        }

        return bin;
    }
}
