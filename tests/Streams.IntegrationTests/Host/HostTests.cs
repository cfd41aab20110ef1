using System.Diagnostics;
using System.Text.Json;
using Confluent.Kafka;
using Npgsql;
using Streams.Contracts.Topics;

namespace Streams.IntegrationTests.Host;

/// <summary>The host with no configuration: what a new user runs first.</summary>
public sealed class HostTests
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task WithNoConfiguration_StartsEmbeddedBrokerAndPostgres_ProvisionsAndMigrates_AndStopsCleanlyOnCtrlC()
    {
        await using var host = HostProcess.Start();
        var bootstrap = await host.WaitForStateFileAsync("bootstrap", StartTimeout);
        var connectionString = await host.WaitForStateFileAsync("postgres", StartTimeout);
        // The console logger writes on its own thread, so the line naming the broker can arrive after the state file.
        await host.WaitForOutputAsync(bootstrap, StartTimeout);

        var catalog = new TopicCatalog(new TopicsOptions());
        using (var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrap }).Build())
        {
            var topics = admin.GetMetadata(TimeSpan.FromSeconds(10)).Topics.ToDictionary(t => t.Topic, t => t.Partitions.Count);
            foreach (var topic in catalog.All)
            {
                Assert.True(topics.TryGetValue(topic.Name, out var partitions), $"topic {topic.Name} missing");
                Assert.Equal(topic.Partitions, partitions);
            }
        }

        await WaitForMigrationsAsync(connectionString);
        var pgFolder = File.ReadAllText(Path.Combine(host.StateDirectory, "pg-location")).Trim();
        Assert.True(Directory.Exists(pgFolder), pgFolder);

        host.Interrupt();
        var exit = await host.WaitForExitAsync(TimeSpan.FromSeconds(60));
        Assert.True(exit == 0, $"exit code {exit}: {host.Errors}\n{host.Output}");
        Assert.False(Directory.Exists(pgFolder), "the throwaway PostgreSQL folder is removed on exit");
        await using var gone = NpgsqlDataSource.Create(connectionString);
        await Assert.ThrowsAnyAsync<NpgsqlException>(async () => await gone.OpenConnectionAsync());
    }

    [Fact]
    public async Task CtrlCWhileStarting_ExitsCleanly_AndLeavesNoDatabaseServerBehind()
    {
        // Found by hand: Ctrl-C reaches initdb too, and cleaning up after it threw, which crashed the host (134).
        await using var host = HostProcess.Start();
        await host.WaitForStateFileAsync("bootstrap", StartTimeout);
        host.Interrupt();
        var exit = await host.WaitForExitAsync(TimeSpan.FromSeconds(60));
        Assert.True(exit is 0 or 1, $"exit code {exit}: {host.Errors}\n{host.Output}");
        Assert.DoesNotContain("Unhandled exception", host.Errors, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(host.StateDirectory, "pg", "data")), "the throwaway cluster's folder is gone");
        var record = Path.Combine(host.StateDirectory, "pg-location");
        if (File.Exists(record))
        {
            Assert.False(Directory.Exists(File.ReadAllText(record).Trim()), "the throwaway cluster's folder is gone");
        }
    }

    [SkippableFact]
    public async Task WithNoConfiguration_ANonDotNetKafkaClient_ListsEveryCatalogTopic()
    {
        var kcat = new[] { "/usr/bin/kcat", "/usr/local/bin/kcat" }.FirstOrDefault(File.Exists);
        Skip.If(kcat is null, "kcat is not installed (Debian package kcat; .ci/run installs it)");
        await using var host = HostProcess.Start();
        var bootstrap = await host.WaitForStateFileAsync("bootstrap", StartTimeout);

        var start = new ProcessStartInfo(kcat!) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "-L", "-J", "-b", bootstrap })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var json = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.Equal(0, process.ExitCode);

        using var document = JsonDocument.Parse(json);
        var listed = document.RootElement.GetProperty("topics").EnumerateArray()
            .ToDictionary(t => t.GetProperty("topic").GetString()!, t => t.GetProperty("partitions").GetArrayLength());
        foreach (var topic in new TopicCatalog(new TopicsOptions()).All)
        {
            Assert.Equal(topic.Partitions, listed[topic.Name]);
        }
    }

    [Theory]
    [InlineData("--Topics:Partitions=0", "Partitions")]
    [InlineData("--Kafka:EmbeddedBrokers=many", "Kafka:EmbeddedBrokers")]
    [InlineData("--Topics:Clickstream=no spaces allowed", "Clickstream")]
    [InlineData("--ConnectionStrings:Profiles=Host=;Bogus Key=1", "ConnectionStrings:Profiles")]
    [InlineData("--only=ingest,bogus", "'bogus'; valid: ingest, profiles, segmentation, activation, quality, all")]
    [InlineData("--Streams:Workers=profile", "Streams:Workers names unknown worker 'profile'")]
    [InlineData("--Health:Port=70000", "Port")]
    [InlineData("--Health:Prot=8080", "unknown configuration key 'Health:Prot' (known there: Address, CheckTimeout, MaxBatchRetries, Port, StallAfter)")]
    [InlineData("--Identity:MaxPerType:fax=3", "unknown configuration key 'Identity:MaxPerType:fax'")]
    [InlineData("--Identity:Blocked:Patterns:email:0=([a-z]", "Identity:Blocked:Patterns:email:0 is not a valid pattern")]
    [InlineData("--Identity:Blocked:Valeus:email:0=a@b.co", "unknown configuration key 'Identity:Blocked:Valeus'")]
    public async Task InvalidConfiguration_ExitsWithCode2AndAOneLineReason(string argument, string named)
    {
        await using var host = HostProcess.Start(arguments: argument);
        Assert.Equal(2, await host.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        var reason = host.Errors.Trim();
        Assert.DoesNotContain('\n', reason);
        Assert.Contains(named, reason, StringComparison.Ordinal);
    }

    private static async Task WaitForMigrationsAsync(string connectionString)
    {
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await using var command = dataSource.CreateCommand("select count(*) from schema_migrations");
                if ((long)(await command.ExecuteScalarAsync())! > 0)
                {
                    return;
                }
            }
            catch (PostgresException) when (clock.Elapsed < StartTimeout)
            {
            }

            await Task.Delay(100);
        }
    }
}
