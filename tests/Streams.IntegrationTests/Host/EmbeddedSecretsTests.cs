using System.Text.Json;
using Npgsql;
using Streams.Infrastructure.Hosting;
using Streams.Ingest.Pseudonymization;
using Streams.IntegrationTests.Fixtures;

namespace Streams.IntegrationTests.Host;

/// <summary>
/// The embedded mode's secrets (development key, database password) as an operator meets them: the host and
/// <c>whois</c> run as child processes on a state dir of their own.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class EmbeddedSecretsTests
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task WithNoConfiguration_SecretsAreOwnerOnly_ThePasswordIsNeverPrinted_AndWhoisReadsStandardInput()
    {
        // Missing, with a space and a quote in its name: the host makes it.
        var stateDirectory = Path.Combine(Path.GetTempPath(), $"streams state it's {Guid.NewGuid().ToString("N")[..8]}");
        await using var host = HostProcess.StartIn(stateDirectory, arguments: ["--Simulator:Enabled=false", "--Health:Port=0"]);
        var connectionString = await host.WaitForStateFileAsync(StreamsEnvironment.PostgresFile, StartTimeout);
        var password = new NpgsqlConnectionStringBuilder(connectionString).Password;

        Assert.False(string.IsNullOrEmpty(password));
        Assert.Equal(OwnerOnly.DirectoryPermissions, File.GetUnixFileMode(stateDirectory));
        Assert.Equal(OwnerOnly.FilePermissions, File.GetUnixFileMode(Path.Combine(stateDirectory, StreamsEnvironment.PostgresFile)));
        Assert.Equal(OwnerOnly.FilePermissions, File.GetUnixFileMode(DevelopmentKey.PathIn(stateDirectory)));
        await host.WaitForOutputAsync("PostgreSQL (throwaway local cluster): ", TimeSpan.FromSeconds(10));
        Assert.Contains("Password=***", host.Output, StringComparison.Ordinal);
        await using (var dataSource = NpgsqlDataSource.Create(connectionString))
        {
            await using var command = dataSource.CreateCommand("select 1");
            Assert.Equal(1, await command.ExecuteScalarAsync());
        }

        // Next to the running host: its connection file and development key, identifiers one per line on stdin.
        var (exit, output, errors) = await HostCommand.RunWithInputAsync(
            "jane.doe@example.com\n\nnot-an-email\n  JOHN@example.com \n", "whois", "email", $"--Streams:StateDir={stateDirectory}");

        Assert.True(exit == 1, $"exit {exit} (1: a line was not an identifier): {errors}{output}");
        var reports = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(2, reports.Count);
        Assert.All(reports, r =>
        {
            Assert.Equal("dev", r.GetProperty("key_id").GetString());
            Assert.False(r.GetProperty("found").GetBoolean());
        });
        Assert.Contains($"key 'dev' (the development key {DevelopmentKey.PathIn(stateDirectory)})", errors, StringComparison.Ordinal);
        Assert.Contains("line 3: not a valid email identifier", errors, StringComparison.Ordinal);
        foreach (var raw in new[] { "jane.doe", "not-an-email", "JOHN", "john" })
        {
            Assert.DoesNotContain(raw, output + errors, StringComparison.Ordinal);
        }

        host.Interrupt();
        Assert.Equal(0, await host.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.DoesNotContain(password!, host.Output + host.Errors, StringComparison.Ordinal);
        Assert.DoesNotContain(password!, await ReadLogsAsync(stateDirectory), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AHostKilledHard_LeavesNoDatabaseServer_OnceTheNextHostStartsOnItsStateDir()
    {
        var stateDirectory = HostProcess.NewStateDirectory();
        var location = Path.Combine(stateDirectory, StreamsEnvironment.PostgresLocationFile);
        var killed = HostProcess.StartIn(stateDirectory, arguments: "--Simulator:Enabled=false");
        try
        {
            var firstConnection = await killed.WaitForStateFileAsync(StreamsEnvironment.PostgresFile, StartTimeout);
            var firstFolder = (await File.ReadAllTextAsync(location)).Trim();
            killed.KillHard();
            await killed.WaitForExitAsync(TimeSpan.FromSeconds(30));
            Assert.True(Directory.Exists(firstFolder), "a killed host cannot clean up after itself");

            await using var next = HostProcess.StartIn(stateDirectory, arguments: "--Simulator:Enabled=false");
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while ((await next.WaitForStateFileAsync(StreamsEnvironment.PostgresFile, StartTimeout)) == firstConnection && clock.Elapsed < StartTimeout)
            {
                await Task.Delay(100);
            }

            if (firstFolder != Path.Combine(stateDirectory, "pg"))
            {
                // As root: a folder of its own in the temporary area, which nobody else would ever remove.
                Assert.False(Directory.Exists(firstFolder), "the next host removed the killed one's cluster folder");
            }
            await using var gone = NpgsqlDataSource.Create(firstConnection);
            await Assert.ThrowsAnyAsync<NpgsqlException>(async () => await gone.OpenConnectionAsync());
        }
        finally
        {
            await killed.DisposeAsync();
        }
    }

    [Fact]
    public async Task AKeyFileOthersMayRead_StopsTheHostWithCode2_NamingTheFileAndTheFix()
    {
        var stateDirectory = HostProcess.NewStateDirectory();
        var keyFile = DevelopmentKey.PathIn(stateDirectory);
        await File.WriteAllTextAsync(keyFile, Convert.ToBase64String(new byte[32]));
        File.SetUnixFileMode(keyFile, OwnerOnly.FilePermissions | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        var reason = await RefusalAsync(stateDirectory);

        Assert.Contains($"the development key {keyFile} is readable by other users (mode 0644)", reason, StringComparison.Ordinal);
        Assert.Contains($"chmod 600 {OwnerOnly.ShellQuoted(keyFile)}", reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AStateDirOpenToOthers_StopsTheHostWithCode2_AndIsLeftAsItIs()
    {
        var stateDirectory = HostProcess.NewStateDirectory();
        const UnixFileMode open = OwnerOnly.DirectoryPermissions | UnixFileMode.GroupRead | UnixFileMode.GroupExecute |
                                  UnixFileMode.OtherRead | UnixFileMode.OtherExecute;
        File.SetUnixFileMode(stateDirectory, open);

        var reason = await RefusalAsync(stateDirectory, () =>
        {
            Assert.False(File.Exists(DevelopmentKey.PathIn(stateDirectory)), "no key was written into it");
            Assert.Equal(open, File.GetUnixFileMode(stateDirectory));
        });

        Assert.Contains($"the state directory {stateDirectory} is open to other users (mode 0755)", reason, StringComparison.Ordinal);
        Assert.Contains($"chmod 700 {OwnerOnly.ShellQuoted(stateDirectory)}", reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("jane.doe@example.com")]
    [InlineData("Streams:StateDir=elsewhere")]
    public async Task Whois_WithTheIdentifierOnTheCommandLine_ExitsWithCode2AndSaysToUseStandardInput(string argument)
    {
        var (exit, output, errors) = await HostCommand.RunWithInputAsync("", "whois", "email", argument);

        Assert.Equal(2, exit);
        Assert.Contains("reads the identifier from standard input", errors, StringComparison.Ordinal);
        Assert.DoesNotContain(argument, output + errors, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Whois_WithoutAKey_ExitsWithCode2_AndMakesNone()
    {
        var stateDirectory = Path.Combine(Path.GetTempPath(), "streams-whois-" + Guid.NewGuid().ToString("N")[..8]);

        var (exit, output, errors) = await HostCommand.RunWithInputAsync("jane.doe@example.com\n",
            "whois", "email", $"--Streams:StateDir={stateDirectory}", "--ConnectionStrings:Profiles=Host=127.0.0.1;Port=1");

        Assert.Equal(2, exit);
        Assert.Contains($"no pseudonymization key: {DevelopmentKey.PathIn(stateDirectory)} does not exist", errors, StringComparison.Ordinal);
        Assert.Empty(output);
        Assert.False(Directory.Exists(stateDirectory), "whois makes neither a key nor a state dir");
    }

    // The host on that state dir must exit 2 with a one-line reason (returned) before it starts anything.
    private static async Task<string> RefusalAsync(string stateDirectory, Action? alsoCheck = null)
    {
        await using var host = HostProcess.StartIn(stateDirectory);
        Assert.Equal(2, await host.WaitForExitAsync(StartTimeout));
        var reason = host.Errors.Trim();
        Assert.DoesNotContain('\n', reason);
        Assert.False(File.Exists(Path.Combine(stateDirectory, "bootstrap")), "nothing was started");
        alsoCheck?.Invoke();
        return reason;
    }

    private static async Task<string> ReadLogsAsync(string stateDirectory)
    {
        var log = Path.Combine(stateDirectory, "streams.log");
        return File.Exists(log) ? await File.ReadAllTextAsync(log) : string.Empty;
    }
}
