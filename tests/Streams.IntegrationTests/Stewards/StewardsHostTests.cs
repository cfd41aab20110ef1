using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Streams.Infrastructure.Hosting;
using Streams.IntegrationTests.Chaos;
using Streams.IntegrationTests.Fixtures;
using Streams.Quality.Stewardship;
using Streams.Stewards.Security;

namespace Streams.IntegrationTests.Stewards;

/// <summary>The real host with <c>Stewards:Port</c> set serves the console, with its keys in the state dir.</summary>
[Collection(IntegrationCollection.Name)]
public sealed class StewardsHostTests(KafkaFixture kafka, PostgresFixture postgres)
{
    [Fact]
    public async Task HostWithStewardsPort_ServesTheConsoleOnLoopback_KeepingItsKeysInTheStateDir()
    {
        var topics = await TestTopics.CreateAsync(kafka, partitions: 1);
        var port = InProcessHost.FreePort();
        var stewardship = new FakeStewardship(DateTimeOffset.UtcNow);
        await using var host = await InProcessHost.StartAsync(kafka, postgres, topics,
            builder => builder.Services.AddSingleton<IStewardship>(stewardship),
            "--Streams:Workers=ingest", $"--Stewards:Port={port}",
            $"--Stewards:Users:{ConsoleServer.StewardName}:PasswordHash={PasswordHashing.Hash(ConsoleServer.Password)}",
            $"--Stewards:Users:{ConsoleServer.StewardName}:Role=steward");

        using var client = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false })
        {
            BaseAddress = new Uri($"http://127.0.0.1:{port}"),
        };
        var token = await ConsoleServer.TokenAsync(client, "/signin");
        using var signIn = await client.PostAsync(new Uri("/signin", UriKind.Relative),
            ConsoleServer.Form(token, ("name", ConsoleServer.StewardName), ("password", ConsoleServer.Password)));
        Assert.Equal(HttpStatusCode.Redirect, signIn.StatusCode);
        var overview = await client.GetStringAsync(new Uri("/", UriKind.Relative));
        Assert.Contains("does not run the data-quality worker", overview, StringComparison.Ordinal);
        Assert.Contains("store/0/10", await client.GetStringAsync(new Uri("/quarantine?topic=store", UriKind.Relative)), StringComparison.Ordinal);

        var keys = Path.Combine(host.Get<StreamsEnvironment>().StateDirectory, "stewards-keys");
        Assert.NotEmpty(Directory.GetFiles(keys, "key-*.xml"));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(OwnerOnly.DirectoryPermissions, File.GetUnixFileMode(keys));
        }

        // Kept as they are in an owner-only directory, said explicitly: no warning at every start for an operator to chase.
        Assert.DoesNotContain(host.Logs.Lines, l => l.Contains("XML encryptor", StringComparison.Ordinal));
    }
}
