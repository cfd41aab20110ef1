using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Streams.Contracts.Topics;
using Streams.Infrastructure.Diagnostics;
using Streams.Infrastructure.Hosting;
using Streams.Infrastructure.Kafka;
using Streams.Ingest;
using Streams.Ingest.Worker;
using Streams.Profiles.Processing;
using Streams.Profiles.Store;

namespace Streams.Profiles.Worker;

/// <summary>
/// Consumes canonical events in batches; each batch is one PostgreSQL transaction that resolves identities, updates
/// aggregates, applies consent, writes the outbox and stores the consumed offsets. After the commit the outbox goes
/// to Kafka. A restart resumes from the stored offsets: nothing lost, nothing counted twice.
/// </summary>
public sealed class ProfilesWorker(
    StreamsEnvironment environment,
    TopicCatalog catalog,
    ProfileBatchProcessor processor,
    ProfilesMetrics metrics,
    IOptions<ProfilesOptions> profilesOptions,
    TimeProvider timeProvider,
    ILogger<ProfilesWorker> logger) : BackgroundService
{
    private const int MaxBatchAttempts = 5;
    private readonly ProfilesOptions options = profilesOptions.Value;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.Factory.StartNew(() => RestartingLoop.Run("Profiles", RunSession, options.RetryDelay, options.MaxRetryDelay, logger, stoppingToken),
            stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private void RunSession(CancellationToken stoppingToken)
    {
        var repository = new ProfileRepository(environment.DataSource);
        using var publisher = new OutboxPublisher(repository, environment.BootstrapServers, logger);
        // Whatever a previous session committed but did not publish goes out first.
        publisher.PublishPending(stoppingToken);

        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig
            {
                BootstrapServers = environment.BootstrapServers,
                GroupId = options.GroupId,
                ClientId = "streams-profiles",
                EnableAutoCommit = false,
                EnableAutoOffsetStore = false,
                AutoOffsetReset = AutoOffsetReset.Earliest,
                SessionTimeoutMs = 6000,
                HeartbeatIntervalMs = 1000,
            })
            .SetLogHandler((_, m) => logger.LogDebug("consumer: {Message}", m.Message))
            .SetPartitionsRevokedHandler((c, _) => metrics.SetAssigned(0))
            .SetPartitionsLostHandler((c, _) => metrics.SetAssigned(0))
            .SetPartitionsAssignedHandler((_, partitions) =>
            {
                metrics.SetAssigned(partitions.Count);
                // Resume from the offsets committed with the data, not from the group's.
                var stored = repository.LoadOffsetsAsync(stoppingToken).GetAwaiter().GetResult();
                return partitions.Select(p => new TopicPartitionOffset(p,
                    stored.TryGetValue((p.Topic, p.Partition.Value), out var next) ? new Offset(next) : Offset.Beginning));
            })
            .Build();
        consumer.Subscribe(catalog.Names.Canonical);
        var buffer = new List<ConsumeResult<byte[]?, byte[]?>>();
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                BatchCollector.Fill(consumer, buffer, options.BatchSize, options.MaxBatchWait, stoppingToken);
                if (buffer.Count == 0 || stoppingToken.IsCancellationRequested)
                {
                    continue;
                }

                var changes = CommitBatch(repository, buffer);
                CrashPoints.Reach("profiles.after-commit");
                var publishing = System.Diagnostics.Stopwatch.StartNew();
                publisher.PublishPending(CancellationToken.None);
                metrics.Stage("publish", publishing.Elapsed);
                CrashPoints.Reach("profiles.after-publish");
                CommitToGroup(consumer, buffer);
                metrics.Record(buffer.Count, changes);
            }
        }
        finally
        {
            try
            {
                consumer.Close();
            }
            catch (KafkaException)
            {
                // After a broker failure the group notices by the session timeout.
            }
        }
    }

    private BatchChanges CommitBatch(ProfileRepository repository, List<ConsumeResult<byte[]?, byte[]?>> batch)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var items = batch.Select(Read).ToList();
        var pseudonyms = items.SelectMany(Pseudonyms).Distinct(StringComparer.Ordinal).ToList();
        var offsets = batch.GroupBy(r => (r.Topic, r.Partition.Value))
            .Select(g => (g.Key.Topic, g.Key.Value, g.Max(r => r.Offset.Value) + 1)).ToList();
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                metrics.Stage("read", clock.Elapsed);
                clock.Restart();
                using var connection = repository.DataSource.OpenConnection();
                using var transaction = connection.BeginTransaction();
                var state = ProfileRepository.LoadAsync(connection, transaction, pseudonyms, CancellationToken.None).GetAwaiter().GetResult();
                metrics.Stage("load", clock.Elapsed);
                clock.Restart();
                var now = timeProvider.GetUtcNow();
                var changes = processor.Apply(state, items, now);
                metrics.Stage("apply", clock.Elapsed);
                clock.Restart();
                ProfileRepository.SaveAsync(connection, transaction, changes, offsets, now, CancellationToken.None).GetAwaiter().GetResult();
                metrics.Stage("save", clock.Elapsed);
                clock.Restart();
                CrashPoints.Reach("profiles.before-commit");
                transaction.Commit();
                metrics.Stage("commit", clock.Elapsed);
                return changes;
            }
            catch (PostgresException e) when (attempt < MaxBatchAttempts && e.SqlState is "40P01" or "40001" or "23505")
            {
                // Another worker got to the same profiles first; the batch is re-read against what it committed.
                logger.LogInformation("Batch collided with another worker ({State}); retrying", e.SqlState);
            }
        }
    }

    private BatchItem Read(ConsumeResult<byte[]?, byte[]?> record)
    {
        var position = new SourcePosition(record.Topic, record.Partition.Value, record.Offset.Value);
        var value = record.Message.Value;
        var kind = OutputHeaders.Read(record.Message.Headers)?.Kind;
        try
        {
            if (value is { Length: > 0 } && kind == OutputHeaders.KindConsent
                && IngestJson.DeserializeConsentCommand(value) is { Pseudonym.Length: > 0, EventId.Length: > 0 } consent)
            {
                return new ConsentItem(position, consent);
            }

            if (value is { Length: > 0 } && kind != OutputHeaders.KindConsent
                && IngestJson.DeserializeCanonicalEvent(value) is { EventId.Length: > 0, Identifiers: not null, Source: not null } e
                && e.Identifiers.All(i => i is { Pseudonym.Length: > 0 }) && Features.ProfileAggregate.CanApply(e))
            {
                return new EventItem(position, e);
            }
        }
        catch (System.Text.Json.JsonException)
        {
            // Falls through to quarantine below.
        }

        return new InvalidItem(position, record.Message.Key, value, kind is null ? "no streams-kind header" : $"not a readable {kind} record");
    }

    private static IEnumerable<string> Pseudonyms(BatchItem item) => item switch
    {
        EventItem e => e.Event.Identifiers.Select(i => i.Pseudonym),
        ConsentItem c => [c.Command.Pseudonym],
        _ => [],
    };

    private void CommitToGroup(IConsumer<byte[]?, byte[]?> consumer, List<ConsumeResult<byte[]?, byte[]?>> batch)
    {
        // For lag monitoring only: the offsets that count are stored with the data.
        try
        {
            consumer.Commit(batch.GroupBy(r => r.TopicPartition).Select(g => new TopicPartitionOffset(g.Key, g.Max(r => r.Offset.Value) + 1)));
        }
        catch (KafkaException e)
        {
            logger.LogDebug("Committing group offsets failed (monitoring only): {Reason}", e.Error.Reason);
        }
    }
}
