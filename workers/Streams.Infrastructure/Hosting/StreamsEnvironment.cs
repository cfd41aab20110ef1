using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Streams.Contracts.Topics;
using Streams.Infrastructure.Kafka;
using Streams.Infrastructure.Postgres;

namespace Streams.Infrastructure.Hosting;

/// <summary>
/// The broker and database the workers use, resolved once at start as CONTRACT.md §7 says: configured ones when given,
/// else an embedded broker and a throwaway local PostgreSQL. Topics are provisioned and migrations applied before any
/// worker starts.
/// </summary>
public sealed class StreamsEnvironment(
    IConfiguration configuration,
    IOptions<StreamsOptions> streamsOptions,
    IOptions<KafkaOptions> kafkaOptions,
    TopicCatalog catalog,
    TopicProvisioner provisioner,
    IEnumerable<MigrationAssembly> migrationAssemblies,
    ILoggerFactory loggerFactory) : IAsyncDisposable
{
    /// <summary>Name of the connection string of the profile store.</summary>
    public const string ConnectionName = "Profiles";

    /// <summary>The state file with the throwaway PostgreSQL's connection string, password included (mode 0600).</summary>
    public const string PostgresFile = "postgres";

    /// <summary>The state file naming the throwaway PostgreSQL's folder, so a host started after a kill removes it.</summary>
    public const string PostgresLocationFile = "pg-location";

    /// <summary>
    /// Statements Npgsql keeps prepared per connection by default: more than the workers' distinct statements (about 50
    /// in <c>pipeline-load</c>), each prepared at its fifth use on a connection.
    /// </summary>
    public const int AutoPreparedStatements = 64;

    private readonly ILogger logger = loggerFactory.CreateLogger<StreamsEnvironment>();
    private NpgsqlDataSource? dataSource;
    private string? bootstrapServers;

    /// <summary>The embedded broker, when one was started.</summary>
    public EmbeddedKafkaCluster? EmbeddedKafka { get; private set; }

    /// <summary>The throwaway PostgreSQL, when one was started.</summary>
    public LocalPostgresCluster? LocalPostgres { get; private set; }

    /// <summary>Kafka bootstrap servers the workers connect to.</summary>
    public string BootstrapServers => bootstrapServers ?? throw NotStarted();

    /// <summary>The one data source of the process.</summary>
    public NpgsqlDataSource DataSource => dataSource ?? throw NotStarted();

    /// <summary>Absolute path of the state directory.</summary>
    public string StateDirectory { get; } = Path.GetFullPath(streamsOptions.Value.StateDir);

    /// <summary>True once <see cref="StartAsync"/> has finished.</summary>
    public bool IsReady { get; private set; }

    /// <summary>Resolves, starts and prepares the broker and the database.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        // Embedded mode writes secrets into the state dir (the development key, the throwaway database's password), so
        // there it must be the owner's alone. With a real broker and database it holds none, and a folder an operator
        // made (a volume group-writable for a Kubernetes fsGroup) is used as it is.
        if (kafkaOptions.Value.UseEmbedded || string.IsNullOrWhiteSpace(configuration.GetConnectionString(ConnectionName)))
        {
            OwnerOnly.EnsureDirectory(StateDirectory);
        }
        else
        {
            OwnerOnly.CreateDirectory(StateDirectory);
        }

        await StartKafkaAsync(cancellationToken).ConfigureAwait(false);
        await StartPostgresAsync(cancellationToken).ConfigureAwait(false);
        IsReady = true;
    }

    private async Task StartKafkaAsync(CancellationToken cancellationToken)
    {
        var kafka = kafkaOptions.Value;
        if (kafka.UseEmbedded)
        {
            EmbeddedKafka = EmbeddedKafkaCluster.Start(kafka.EmbeddedBrokers);
            provisioner.Provision(EmbeddedKafka, catalog.All);
            bootstrapServers = EmbeddedKafka.BootstrapServers;
            Announce("Kafka (embedded broker)", "bootstrap", bootstrapServers);
        }
        else
        {
            bootstrapServers = kafka.BootstrapServers!.Trim();
            try
            {
                await provisioner.ProvisionAsync(bootstrapServers, catalog.All, cancellationToken).ConfigureAwait(false);
            }
            catch (Confluent.Kafka.KafkaException e)
            {
                throw new StreamsConfigurationException($"Kafka at '{bootstrapServers}' did not answer: {e.Error.Reason}", e);
            }

            Announce("Kafka", "bootstrap", bootstrapServers);
        }
    }

    private async Task StartPostgresAsync(CancellationToken cancellationToken)
    {
        var connectionString = configuration.GetConnectionString(ConnectionName);
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            try
            {
                LocalPostgres = await StartLocalPostgresAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (PostgresBinariesNotFoundException e)
            {
                throw new StreamsConfigurationException(e.Message, e);
            }

            connectionString = LocalPostgres.ConnectionString;
            Announce("PostgreSQL (throwaway local cluster)", PostgresFile, connectionString, Redacted(connectionString));
        }
        else
        {
            try
            {
                _ = new NpgsqlConnectionStringBuilder(connectionString);
            }
            catch (ArgumentException e)
            {
                throw new StreamsConfigurationException($"ConnectionStrings:{ConnectionName} is not a valid connection string: {e.Message}", e);
            }

            // An operator's own password is not copied to disk.
            Announce("PostgreSQL", PostgresFile, Redacted(connectionString));
        }

        dataSource = new NpgsqlDataSourceBuilder(WithAutomaticPreparation(connectionString)).UseLoggerFactory(loggerFactory).Build();
        try
        {
            var migrations = Migration.FromAssemblies([.. migrationAssemblies.Select(m => m.Assembly).Distinct()]);
            await new MigrationRunner(dataSource, loggerFactory.CreateLogger<MigrationRunner>())
                .MigrateAsync(migrations, cancellationToken).ConfigureAwait(false);
        }
        catch (NpgsqlException e)
        {
            throw new StreamsConfigurationException($"PostgreSQL did not accept the connection: {e.Message}", e);
        }
    }

    /// <summary>
    /// <paramref name="connectionString"/> with Npgsql's automatic preparation (<see cref="AutoPreparedStatements"/> per
    /// connection) unless it names <c>Max Auto Prepare</c> itself. The workers run a few dozen statements, each thousands of
    /// times; unprepared, PostgreSQL parsed, analyzed and planned every execution (benchmarks/README.md, issue 17). An
    /// operator whose connections go through a pooler that cannot keep prepared statements sets <c>Max Auto Prepare=0</c>.
    /// </summary>
    public static string WithAutomaticPreparation(string connectionString)
    {
        var given = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString };
        if (given.Keys.Cast<string>().Any(key => string.Equals(key.Replace(" ", "", StringComparison.Ordinal), "MaxAutoPrepare", StringComparison.OrdinalIgnoreCase)))
        {
            return connectionString;
        }

        return new NpgsqlConnectionStringBuilder(connectionString) { MaxAutoPrepare = AutoPreparedStatements }.ConnectionString;
    }

    // PostgreSQL runs as the postgres user when we are root, and that user cannot enter the 0700 state dir: then the
    // cluster lives in a fresh private temporary folder. The folder is recorded in the state dir (and the record kept)
    // so that a host started after this one was killed stops and removes what it left there.
    private async Task<LocalPostgresCluster> StartLocalPostgresAsync(CancellationToken cancellationToken)
    {
        var record = Path.Combine(StateDirectory, PostgresLocationFile);
        if (File.Exists(record))
        {
            await LocalPostgresCluster.RemoveLeftoverAsync(File.ReadAllText(record).Trim(), cancellationToken).ConfigureAwait(false);
        }

        var directory = Environment.IsPrivilegedProcess
            ? LocalPostgresCluster.NewTemporaryFolder()
            : Path.Combine(StateDirectory, "pg");
        OwnerOnly.WriteFile(record, directory);
        if (Environment.IsPrivilegedProcess)
        {
            logger.LogInformation("The postgres user cannot enter the state dir; the local cluster lives in {Directory}", directory);
        }

        try
        {
            return await LocalPostgresCluster.StartAsync(directory, cancellationToken).ConfigureAwait(false);
        }
        catch when (Environment.IsPrivilegedProcess)
        {
            // Interrupted (Ctrl-C) or failed before the cluster could clean up after itself: the fresh temporary folder
            // goes too, whatever ran in it stopped.
            await LocalPostgresCluster.RemoveLeftoverAsync(directory, CancellationToken.None).ConfigureAwait(false);
            throw;
        }
    }

    // The file gets the whole value (mode 0600: whois and scripts read it); the console gets what may be shown.
    private void Announce(string what, string file, string address, string? printed = null)
    {
        OwnerOnly.WriteFile(Path.Combine(StateDirectory, file), address + Environment.NewLine);
        // Printed on purpose (not only logged): a person or a script starting the host reads these lines.
        Console.WriteLine($"{what}: {printed ?? address}");
    }

    private static string Redacted(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (!string.IsNullOrEmpty(builder.Password))
        {
            builder.Password = "***";
        }

        return builder.ConnectionString;
    }

    private static InvalidOperationException NotStarted() => new("The Streams environment has not been started.");

    public async ValueTask DisposeAsync()
    {
        if (dataSource is not null)
        {
            await dataSource.DisposeAsync().ConfigureAwait(false);
            dataSource = null;
        }

        if (LocalPostgres is not null)
        {
            await LocalPostgres.DisposeAsync().ConfigureAwait(false);
            LocalPostgres = null;
        }

        EmbeddedKafka?.Dispose();
        EmbeddedKafka = null;
    }
}
