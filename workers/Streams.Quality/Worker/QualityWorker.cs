using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Streamiz.Kafka.Net;
using Streamiz.Kafka.Net.SerDes;
using Streamiz.Kafka.Net.State;
using Streams.Contracts.Topics;
using Streams.Infrastructure.Hosting;
using Streams.Quality.Figures;

namespace Streams.Quality.Worker;

/// <summary>
/// Runs the <see cref="QualityTopology"/> (start on host start, dispose on stop) and answers queries from its store.
/// Delivery is at-least-once unless <see cref="QualityOptions.ExactlyOnce"/> is set (CONTRACT.md §9.3).
/// </summary>
public sealed class QualityWorker(
    StreamsEnvironment environment,
    TopicCatalog catalog,
    IOptions<QualityOptions> options,
    ILoggerFactory loggerFactory) : IHostedService, IDisposable
{
    private readonly ILogger logger = loggerFactory.CreateLogger<QualityWorker>();
    private KafkaStream? stream;

    /// <summary>The figures of <paramref name="topic"/> per window that starts in [<paramref name="from"/>, <paramref name="to"/>], oldest first; empty before the store is ready.</summary>
    public IReadOnlyList<QualityMinute> Query(string topic, DateTimeOffset from, DateTimeOffset to)
    {
        ArgumentNullException.ThrowIfNull(topic);
        if (stream is not { } running)
        {
            return [];
        }

        IReadOnlyWindowStore<string, QualityFigures> store;
        try
        {
            store = running.Store(StoreQueryParameters.FromNameAndType(QualityTopology.StoreName, QueryableStoreTypes.WindowStore<string, QualityFigures>()));
        }
        catch (Exception e) when (e is Streamiz.Kafka.Net.Errors.InvalidStateStoreException or Streamiz.Kafka.Net.Errors.IllegalStateException)
        {
            // Restoring from the changelog, not yet running, or stopped by an error: nothing to answer from. The alert
            // rules then see no input, so a stream that stays down shows as silent topics rather than stopping the host.
            return [];
        }

        var size = options.Value.Window;
        using var windows = store.Fetch(topic, from.UtcDateTime, to.UtcDateTime);
        var result = new List<QualityMinute>();
        while (windows.MoveNext())
        {
            var (start, figures) = (windows.Current!.Value.Key, windows.Current.Value.Value);
            result.Add(QualityMinute.Of(topic, DateTimeOffset.FromUnixTimeMilliseconds(start), size, figures));
        }

        return result;
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (environment.EmbeddedKafka is { } embedded)
        {
            // No admin API on the embedded broker: Streamiz finds its internal topics there instead of creating them.
            foreach (var topic in QualityTopology.InternalTopics(settings.ApplicationId))
            {
                embedded.CreateTopic(topic, catalog.Names.Partitions);
            }
        }

        StreamizLogging.Instance.Attach(loggerFactory);
        var builder = new StreamBuilder();
        QualityTopology.Configure(builder, catalog, settings);
        stream = new KafkaStream(builder.Build(), Config(settings, environment.BootstrapServers,
            settings.StateDir ?? Path.Combine(environment.StateDirectory, "quality")));
        await stream.StartAsync(cancellationToken).ConfigureAwait(false);
        logger.LogInformation("Data-quality figures: {Sources} topics in, {Output} out, {Guarantee}",
            QualityTopology.SourceTopics(catalog).Count, catalog.Names.DataQuality, settings.ExactlyOnce ? "exactly once" : "at least once");
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        // Dispose closes the stream threads: a last commit of counts and positions, then the clients.
        stream?.Dispose();
        stream = null;
        StreamizLogging.Instance.Detach(loggerFactory);

        return Task.CompletedTask;
    }

    public void Dispose() => stream?.Dispose();

    internal static StreamConfig<StringSerDes, StringSerDes> Config(
        QualityOptions settings, string bootstrapServers, string stateDir) => new()
    {
        ApplicationId = settings.ApplicationId,
        ClientId = settings.ApplicationId,
        BootstrapServers = bootstrapServers,
        Guarantee = settings.ExactlyOnce ? ProcessingGuarantee.EXACTLY_ONCE : ProcessingGuarantee.AT_LEAST_ONCE,
        CommitIntervalMs = (long)settings.CommitInterval.TotalMilliseconds,
        MaxPollRecords = settings.MaxPollRecords,
        StateDir = stateDir,
        AutoOffsetReset = Confluent.Kafka.AutoOffsetReset.Earliest,
        SessionTimeoutMs = 6000,
        HeartbeatIntervalMs = 1000,
        Logger = StreamizLogging.Instance,
    };
}
