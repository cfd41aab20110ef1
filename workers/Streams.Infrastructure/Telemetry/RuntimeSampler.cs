using Confluent.Kafka;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Streams.Infrastructure.Hosting;
using Streams.Infrastructure.Kafka;

namespace Streams.Infrastructure.Telemetry;

/// <summary>
/// Reads, every <see cref="TelemetryOptions.SampleInterval"/>, each watched group's lag (committed offsets against the
/// log end, so it counts what is not durably done) and the depth of every outbox table, for <see cref="RuntimeMetrics"/>.
/// On a thread of its own, never a worker's or a scrape's: a broker or database that does not answer only makes the
/// figures older.
/// </summary>
internal sealed class RuntimeSampler(
    StreamsEnvironment environment, IEnumerable<ConsumerGroupWatch> watches, RuntimeMetrics metrics, IOptions<TelemetryOptions> options,
    IHostApplicationLifetime lifetime, TimeProvider timeProvider, ILogger<RuntimeSampler> logger) : BackgroundService
{
    // An outbox is a table named "outbox" or "<something>_outbox" in the workers' schema (profile_outbox, segment_outbox).
    private const string OutboxTables = """
        select table_name from information_schema.tables
        where table_schema = current_schema() and (table_name = 'outbox' or table_name like '%\_outbox')
        order by table_name
        """;

    // Exact below this many waiting rows (a healthy outbox holds a few batches), an upper bound above (DepthAsync).
    private const int ExactDepthLimit = 10_000;

    // A broker answers metadata and offsets in milliseconds; a short sample interval must not make a slow answer fail.
    private static readonly TimeSpan MinReadTimeout = TimeSpan.FromSeconds(2);

    private readonly List<ConsumerGroupWatch> groups = [.. watches];

    // Each group's last figures: a group whose read fails keeps them rather than dropping out of the gauge.
    private readonly Dictionary<ConsumerGroupWatch, List<(string Worker, string Group, PartitionLag Lag)>> lastLag = [];

    protected override async Task ExecuteAsync(CancellationToken hostStopping)
    {
        // Registered before the environment, so stopped after it: it ends when stopping begins, not once the broker
        // and the database are gone.
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(hostStopping, lifetime.ApplicationStopping);
        var stoppingToken = stopping.Token;
        ConsumerLagReader? reader = null;
        using var timer = new PeriodicTimer(options.Value.SampleInterval, timeProvider);
        try
        {
            do
            {
                if (environment.IsReady)
                {
                    reader ??= new ConsumerLagReader(environment.BootstrapServers);
                    // The lag reader blocks until the broker answers; the first pass runs inside the host's start, which must not wait.
                    metrics.SetLag(await Task.Run(() => ReadLag(reader), stoppingToken).ConfigureAwait(false));
                    if (await ReadOutboxAsync(stoppingToken).ConfigureAwait(false) is { } depths)
                    {
                        metrics.SetOutboxDepth(depths);
                    }
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            reader?.Dispose();
        }
    }

    private List<(string Worker, string Group, PartitionLag Lag)> ReadLag(ConsumerLagReader reader)
    {
        var timeout = options.Value.SampleInterval > MinReadTimeout ? options.Value.SampleInterval : MinReadTimeout;
        foreach (var group in groups)
        {
            try
            {
                lastLag[group] = [.. reader.Read(group.GroupId, group.Topics, timeout).Select(l => (group.Worker, group.GroupId, l))];
            }
            catch (KafkaException e)
            {
                logger.LogDebug("Lag of {Group} not read, its last figures stay: {Reason}", group.GroupId, e.Error.Reason);
            }
        }

        return [.. lastLag.Values.SelectMany(l => l)];
    }

    /// <summary>
    /// The rows waiting in an outbox table (every one has a <c>seq</c> primary key, TableOutboxPublisher), counted along
    /// that key up to <paramref name="exactUpTo"/>; a deeper outbox (a broker away for long) is given as the span of its
    /// row numbers, an upper bound read from the two ends of the key. A <c>count(*)</c> read the whole heap at every
    /// sample, with the dead versions of every record published since the last vacuum: 81–121 ms a sample in
    /// pipeline-load, and more the deeper the outbox, when the gauge matters most.
    /// </summary>
    internal static async Task<long> DepthAsync(NpgsqlConnection connection, string table, int exactUpTo, CancellationToken cancellationToken)
    {
        await using var depth = new NpgsqlCommand(DepthStatement(table), connection);
        depth.Parameters.Add(new NpgsqlParameter<int>("exact", exactUpTo));
        return (long)(await depth.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    internal static string DepthStatement(string table)
    {
        // The name comes from the catalog and matches the pattern above; quoted all the same.
        var quoted = $"\"{table.Replace("\"", "\"\"", StringComparison.Ordinal)}\"";
        return $"""
            select case when n <= @exact then n else (select max(seq) - min(seq) + 1 from {quoted}) end
            from (select count(*) as n from (select 1 from {quoted} order by seq limit @exact + 1) r) c
            """;
    }

    /// <summary>Rows in every outbox table, or null when the database did not answer (the last figures stay).</summary>
    private async Task<List<(string Table, long Rows)>?> ReadOutboxAsync(CancellationToken cancellationToken)
    {
        var sample = new List<(string, long)>();
        try
        {
            await using var connection = await environment.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            var tables = new List<string>();
            await using (var command = new NpgsqlCommand(OutboxTables, connection))
            await using (var rows = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                while (await rows.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    tables.Add(rows.GetString(0));
                }
            }

            foreach (var table in tables)
            {
                sample.Add((table, await DepthAsync(connection, table, ExactDepthLimit, cancellationToken).ConfigureAwait(false)));
            }
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException)
        {
            logger.LogDebug("Outbox depth not read, the last figures stay: {Reason}", e.Message);
            return null;
        }

        return sample;
    }
}
