using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Npgsql;
using Streams.Contracts.Topics;
using Streams.Infrastructure.Hosting;
using Streams.Infrastructure.Kafka;
using Streams.Infrastructure.Telemetry;
using Streams.Segmentation;

namespace Streams.Dashboard.Figures;

/// <summary>
/// Samples every source of the figures: the meters (always), consumer lag and the segment tables (each bounded by
/// <see cref="DashboardOptions.SampleTimeout"/>, on a thread of its own, never a worker's). A source that fails or does not
/// answer in time becomes a status line and keeps its last figures; nothing is thrown at the caller.
/// </summary>
public sealed class DashboardSampler : IDisposable
{
    private readonly MeasurementCollector collector;
    private readonly StreamsEnvironment environment;
    private readonly TopicCatalog catalog;
    private readonly DashboardOptions options;
    private readonly TimeProvider time;
    private readonly IReadOnlyList<ConsumerGroupWatch> groups;
    private readonly int minSegmentSize;
    private readonly SemaphoreSlim gate = new(1, 1);
    private readonly DateTimeOffset started;
    private MeasurementSnapshot? previous;
    private ConsumerLagReader? lagReader;
    private readonly BoundedSource<IReadOnlyList<LagFigures>> lag;
    private readonly BoundedSource<SegmentsFigures> segments;
    private DateTimeOffset segmentsAt = DateTimeOffset.MinValue;

    public DashboardSampler(
        MeasurementCollector collector, StreamsEnvironment environment, TopicCatalog catalog, IConfiguration configuration,
        IEnumerable<ConsumerGroupWatch> watches, IOptions<DashboardOptions> options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        this.collector = collector;
        this.environment = environment;
        this.catalog = catalog;
        this.options = options.Value;
        this.time = time;
        started = time.GetUtcNow();
        // The groups of the workers this host runs, as the host registered them for the lag meter.
        groups = [.. watches];
        T Bind<T>(string section) where T : new() => configuration.GetSection(section).Get<T>() ?? new T();
        minSegmentSize = Bind<SegmentationOptions>(SegmentationOptions.Section).MinSegmentSize;
        lag = new BoundedSource<IReadOnlyList<LagFigures>>("consumer lag", () => Task.Run(ReadLag, CancellationToken.None), []);
        segments = new BoundedSource<SegmentsFigures>("segments", ReadSegments, SegmentsFigures.Unavailable(minSegmentSize, "not read yet"));
    }

    /// <summary>Where log lines go while the live view runs; set by the view.</summary>
    public string? LogFile { get; set; }

    /// <summary>The figures now. Segments are re-read when <paramref name="segmentsDue"/> or older than the segments interval.</summary>
    public async Task<DashboardFigures> SampleAsync(bool segmentsDue, CancellationToken cancellationToken)
    {
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var statuses = new List<string>();
            var current = collector.Snapshot();
            if (!environment.IsReady)
            {
                statuses.Add("broker and database are starting");
            }
            else
            {
                await lag.SampleAsync(options.SampleTimeout, time, statuses, cancellationToken).ConfigureAwait(false);
                if (segmentsDue || current.At - segmentsAt >= options.SegmentsInterval)
                {
                    await segments.SampleAsync(options.SampleTimeout, time, statuses, cancellationToken).ConfigureAwait(false);
                    segmentsAt = current.At;
                }
            }

            var figures = new DashboardFigures(
                current.At,
                current.At - started,
                environment.IsReady ? environment.BootstrapServers : "starting",
                environment.IsReady ? DatabaseAddress(environment.DataSource) : "starting",
                FigureBuilder.Topics(previous, current, catalog.Inputs),
                FigureBuilder.Reasons(current, catalog.Names.Canonical),
                FigureBuilder.Pipeline(current),
                lag.Last,
                segments.Last,
                statuses,
                LogFile);
            previous = current;
            return figures;
        }
        finally
        {
            gate.Release();
        }
    }

    private IReadOnlyList<LagFigures> ReadLag()
    {
        lagReader ??= new ConsumerLagReader(environment.BootstrapServers);
        var result = new List<LagFigures>(groups.Count);
        foreach (var (worker, group, topics) in groups)
        {
            try
            {
                result.Add(new LagFigures(worker, group, lagReader.TotalLag(group, topics, options.SampleTimeout), null));
            }
            catch (Confluent.Kafka.KafkaException e)
            {
                result.Add(new LagFigures(worker, group, null, e.Error.Reason));
            }
        }

        return result;
    }

    private Task<SegmentsFigures> ReadSegments() => Segments(environment.DataSource, minSegmentSize);

    private static async Task<SegmentsFigures> Segments(NpgsqlDataSource dataSource, int minSegmentSize)
    {
        try
        {
            return await new SegmentReader(dataSource, minSegmentSize).ReadAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UndefinedTable)
        {
            return SegmentsFigures.Unavailable(minSegmentSize, "no segmentation tables in this database");
        }
    }

    /// <summary>Host, port and database: enough to find it, never a password.</summary>
    internal static string DatabaseAddress(NpgsqlDataSource dataSource)
    {
        var builder = new NpgsqlConnectionStringBuilder(dataSource.ConnectionString);
        return $"{builder.Host}:{builder.Port}/{builder.Database}";
    }

    public void Dispose()
    {
        // A lag read still running owns the reader's native handles; the process is stopping, so it is left to finish.
        if (!lag.Busy)
        {
            lagReader?.Dispose();
        }

        gate.Dispose();
    }
}
