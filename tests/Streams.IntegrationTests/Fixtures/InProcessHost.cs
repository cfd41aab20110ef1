using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Streams.Host;
using Streams.Infrastructure.Health;

namespace Streams.IntegrationTests.Fixtures;

/// <summary>The real host, built by the host's own wiring, in this process, against the run's broker and a fresh database.</summary>
public sealed class InProcessHost : IAsyncDisposable
{
    /// <summary>The key of the test vectors.</summary>
    public const string TestKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    private readonly IHost host;
    private readonly string stateDirectory;

    private InProcessHost(IHost host, string stateDirectory, string connectionString, CapturingLoggerProvider logs)
    {
        this.host = host;
        this.stateDirectory = stateDirectory;
        ConnectionString = connectionString;
        Logs = logs;
    }

    public string ConnectionString { get; }

    public CapturingLoggerProvider Logs { get; }

    public IServiceProvider Services => host.Services;

    /// <summary>The arguments that point a host at the run's broker and a database, with the test key.</summary>
    public static string[] Arguments(KafkaFixture kafka, TestTopics topics, string connectionString, string stateDirectory) =>
    [
        .. ArgumentsWithoutKey(kafka, topics, connectionString, stateDirectory),
        "--Pseudonymization:ActiveKeyId=k1",
        $"--Pseudonymization:Keys:k1={TestKey}",
    ];

    private static string[] ArgumentsWithoutKey(KafkaFixture kafka, TestTopics topics, string connectionString, string stateDirectory) =>
    [
        .. topics.HostArguments,
        $"--Kafka:BootstrapServers={kafka.BootstrapServers}",
        $"--ConnectionStrings:Profiles={connectionString}",
        $"--Streams:StateDir={stateDirectory}",
        "--Ingest:MaxBatchWait=00:00:00.050",
    ];

    public static Task<InProcessHost> StartAsync(
        KafkaFixture kafka, PostgresFixture postgres, TestTopics topics, params string[] extraArguments) =>
        StartAsync(kafka, postgres, topics, _ => { }, extraArguments);

    /// <summary>As above, with <paramref name="configure"/> given the builder last (to swap a service, such as the clock).</summary>
    public static async Task<InProcessHost> StartAsync(
        KafkaFixture kafka, PostgresFixture postgres, TestTopics topics, Action<HostApplicationBuilder> configure, params string[] extraArguments)
    {
        var connectionString = await postgres.CreateDatabaseAsync();
        var stateDirectory = NewStateDirectory();
        return await StartAsync(connectionString, stateDirectory, [.. Arguments(kafka, topics, connectionString, stateDirectory), .. extraArguments], configure);
    }

    /// <summary>
    /// A host restarted on an existing database with pseudonymization settings of the caller's own (a key rotation):
    /// no test key is added.
    /// </summary>
    public static Task<InProcessHost> RestartAsync(KafkaFixture kafka, TestTopics topics, string connectionString, params string[] pseudonymization)
    {
        var stateDirectory = NewStateDirectory();
        return StartAsync(connectionString, stateDirectory, [.. ArgumentsWithoutKey(kafka, topics, connectionString, stateDirectory), .. pseudonymization], _ => { });
    }

    private static string NewStateDirectory() => Path.Combine(Path.GetTempPath(), "streams-test-" + Guid.NewGuid().ToString("N")[..10]);

    private static async Task<InProcessHost> StartAsync(
        string connectionString, string stateDirectory, string[] arguments, Action<HostApplicationBuilder> configure)
    {
        var logs = new CapturingLoggerProvider();
        var builder = StreamsHost.CreateBuilder(arguments);
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(logs);
        builder.Logging.SetMinimumLevel(LogLevel.Trace);
        builder.Logging.AddFilter<CapturingLoggerProvider>(null, LogLevel.Trace);
        configure(builder);
        var host = builder.Build();
        try
        {
            await host.StartAsync();
        }
        catch
        {
            // A service that failed to start leaves the ones started before it running: stopped here, not left to consume
            // the test's topics beside a host the test starts next.
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await host.StopAsync(timeout.Token);
            host.Dispose();
            throw;
        }

        return new InProcessHost(host, stateDirectory, connectionString, logs);
    }

    public T Get<T>() where T : notnull => host.Services.GetRequiredService<T>();

    /// <summary>The health endpoint's address, from the port the host was started with.</summary>
    public Uri HealthAddress => new($"http://127.0.0.1:{Get<IOptions<HealthOptions>>().Value.Port}");

    /// <summary>A <c>--Health:Port</c> argument naming a <see cref="FreePort"/>.</summary>
    public static string FreeHealthPort() => $"--Health:Port={FreePort()}";

    /// <summary>
    /// A loopback port free at the moment of asking, below the kernel's range for the local ports of outgoing
    /// connections when there is room. A port the kernel hands out for listening is in that range, where any of the
    /// suite's many broker and database client connections could take it before the host binds it (seen once in CI:
    /// "address already in use"); below it, only another listener can, and every listener of the suite but these takes
    /// its port from the kernel.
    /// </summary>
    public static int FreePort()
    {
        var below = EphemeralLow();
        for (var attempt = 0; below > LowestChosen && attempt < 50; attempt++)
        {
            var port = Random.Shared.Next(LowestChosen, below);
            try
            {
                using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, port);
                taken.Start();
                return port;
            }
            catch (System.Net.Sockets.SocketException)
            {
            }
        }

        using var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        probe.Start();
        return ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
    }

    private const int LowestChosen = 20_000;

    // The first port of /proc/sys/net/ipv4/ip_local_port_range (Linux; 32768 by default), or 0 when it cannot be read.
    private static int EphemeralLow()
    {
        try
        {
            var range = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            return range.Length > 0 && int.TryParse(range[0], System.Globalization.CultureInfo.InvariantCulture, out var low) ? low : 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await host.StopAsync(timeout.Token);
        host.Dispose();
        try
        {
            Directory.Delete(stateDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
