using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Npgsql;
using Streams.Contracts;
using Streams.Contracts.Topics;

namespace Streams.Quality.Stewardship;

/// <summary>
/// <see cref="IStewardship"/> over the quarantine index and audit in PostgreSQL and the input topics in Kafka. The
/// original of a record is read by assigning its input partition and seeking to its offset; it is held in memory only
/// for as long as a call needs it, returned to the caller or written back to its input topic, and never logged.
/// </summary>
/// <remarks>
/// A replay happens at most once per original: the claim (a row keyed by the original's position) is committed before
/// the record is produced. A replay refused before anything was written gives its claim back; a crash between the claim
/// and the broker's acknowledgement leaves it held (<c>replaying</c>), and the original is then not replayed again
/// rather than perhaps twice: a steward reads the input topic's <c>streams-replay-of</c> headers to see whether it was.
/// Exceptions a caller (the console, the command) turns into a message: <see cref="ArgumentException"/> for a topic that
/// is not an input topic or a steward name that is not an operator account name; <see cref="KeyNotFoundException"/> from
/// <see cref="ReadOriginalAsync"/> for a position no quarantine record names (audited as <c>not_quarantined</c>; replays
/// answer <see cref="ReplayStatus.NotQuarantined"/> instead); <see cref="TimeoutException"/> or a Kafka or Npgsql
/// exception when the broker or the database does not answer.
/// </remarks>
public sealed class Stewardship(
    Func<NpgsqlDataSource> dataSource,
    Func<string> bootstrapServers,
    TopicCatalog catalog,
    StewardshipOptions options,
    TimeProvider timeProvider,
    ILogger<Stewardship> logger) : IStewardship, IDisposable
{
    private readonly Lock gate = new();
    private IProducer<byte[]?, byte[]?>? producer;

    public Task<QuarantinePage> BrowseAsync(QuarantineQuery query, CancellationToken cancellationToken) =>
        StewardshipRepository.BrowseAsync(dataSource(), query, cancellationToken);

    public Task<QuarantineEntry?> FindAsync(SourcePosition source, CancellationToken cancellationToken) =>
        StewardshipRepository.FindAsync(dataSource(), source, cancellationToken);

    public async Task<OriginalRecord> ReadOriginalAsync(SourcePosition source, string steward, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        var channel = ChannelOf(source.Topic);
        RequireSteward(steward);
        var entry = await FindAsync(source, cancellationToken).ConfigureAwait(false);
        if (entry is null)
        {
            await AuditAsync(steward, StewardshipRepository.ViewOriginal, source, "not_quarantined", cancellationToken).ConfigureAwait(false);
            throw new KeyNotFoundException($"no quarantine record names {StewardPosition.Format(source)}: only quarantined originals can be read");
        }

        var original = await Task.Run(() => Read(source, cancellationToken), cancellationToken).ConfigureAwait(false);
        await AuditAsync(steward, StewardshipRepository.ViewOriginal, source, original is null ? "past_retention" : "shown", cancellationToken)
            .ConfigureAwait(false);
        logger.LogInformation("Steward {Steward} read the original at {Source} ({Outcome})", steward, StewardPosition.Format(source),
            original is null ? "past retention" : "shown");
        return original is null
            ? new OriginalRecord(source, null, PastRetention: true, ReplayEdits.EditableFields(channel))
            : new OriginalRecord(source, Encoding.UTF8.GetString(original.Message.Value ?? []), PastRetention: false, ReplayEdits.EditableFields(channel));
    }

    public async Task<ReplayResult> ReplayAsync(
        SourcePosition source, string steward, IReadOnlyDictionary<string, string>? edits, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        var channel = ChannelOf(source.Topic);
        RequireSteward(steward);
        using var reader = NewReader();
        return await ReplayOneAsync(reader, channel, source, steward, edits, StewardshipRepository.Replay, cancellationToken).ConfigureAwait(false);
    }

    public async Task<BulkReplayResult> ReplayReasonAsync(
        string topic, string reasonCode, DateTimeOffset from, DateTimeOffset to, string steward, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reasonCode);
        var channel = ChannelOf(topic);
        RequireSteward(steward);
        var found = await StewardshipRepository.QuarantinedAsync(dataSource(), topic, reasonCode, from, to, cancellationToken).ConfigureAwait(false);
        var replayed = 0;
        using (var reader = NewReader())
        {
            foreach (var (source, _) in found)
            {
                var result = await ReplayOneAsync(reader, channel, source, steward, null, StewardshipRepository.BulkReplay, cancellationToken).ConfigureAwait(false);
                replayed += result.Status == ReplayStatus.Replayed ? 1 : 0;
            }
        }

        logger.LogInformation("Steward {Steward} replayed {Replayed} of {Matched} records of {Topic} quarantined as {Reason} in [{From:o}, {To:o})",
            steward, replayed, found.Count, topic, reasonCode, from, to);
        return new BulkReplayResult(found.Count, replayed, found.Count - replayed);
    }

    public Task<IReadOnlyList<StewardAuditEntry>> AuditAsync(StewardAuditQuery query, CancellationToken cancellationToken) =>
        StewardshipRepository.AuditListAsync(dataSource(), query, cancellationToken);

    public void Dispose()
    {
        lock (gate)
        {
            producer?.Flush(TimeSpan.FromSeconds(5));
            producer?.Dispose();
            producer = null;
        }
    }

    private async Task<ReplayResult> ReplayOneAsync(IConsumer<byte[]?, byte[]?> reader, Channel channel, SourcePosition source, string steward,
        IReadOnlyDictionary<string, string>? edits, string action, CancellationToken cancellationToken)
    {
        var entry = await FindAsync(source, cancellationToken).ConfigureAwait(false);
        if (entry is null)
        {
            await AuditAsync(steward, action, source, "not_quarantined", cancellationToken).ConfigureAwait(false);
            return new ReplayResult(source, ReplayStatus.NotQuarantined, null, "no quarantine record names this position");
        }

        var (auditId, claimed) = await StewardshipRepository.ClaimReplayAsync(dataSource(), timeProvider.GetUtcNow(), steward, action, source,
            entry.EventId, cancellationToken).ConfigureAwait(false);
        if (!claimed)
        {
            return new ReplayResult(source, ReplayStatus.AlreadyReplayed, null, "this original was replayed before (see the audit)");
        }

        ReplayResult? refused = null;
        SourcePosition? written = null;
        try
        {
            var original = await Task.Run(() => Read(reader, source, cancellationToken), cancellationToken).ConfigureAwait(false);
            if (original is null)
            {
                refused = new ReplayResult(source, ReplayStatus.PastRetention, null, "the input topic no longer holds the original");
            }
            else
            {
                var value = original.Message.Value ?? [];
                string? refusal = null;
                if (edits is { Count: > 0 })
                {
                    value = ReplayEdits.Apply(channel, value, edits, out refusal);
                }

                if (value is null)
                {
                    refused = new ReplayResult(source, ReplayStatus.Refused, null, refusal);
                }
                else
                {
                    var report = await Producer().ProduceAsync(source.Topic, new Message<byte[]?, byte[]?>
                    {
                        Key = original.Message.Key,
                        Value = value,
                        Headers = ReplayHeaders.For(source, steward),
                    }, cancellationToken).ConfigureAwait(false);
                    written = new SourcePosition(report.Topic, report.Partition.Value, report.Offset.Value);
                }
            }
        }
        catch (ProduceException<byte[]?, byte[]?> e) when (e.Error.Code == ErrorCode.MsgSizeTooLarge)
        {
            refused = new ReplayResult(source, ReplayStatus.Refused, null, "the record is larger than the producer may send");
        }
        catch (Exception e) when (e is ProduceException<byte[]?, byte[]?> or KafkaException or TimeoutException or OperationCanceledException)
        {
            // Not known whether the broker has the record: the claim stays ('replaying'), so it is not sent twice.
            logger.LogWarning("Replay of {Source} by {Steward} did not finish ({Error}); it stays claimed and is not sent again",
                StewardPosition.Format(source), steward, e.GetType().Name);
            throw;
        }

        if (refused is not null)
        {
            await StewardshipRepository.ReleaseAsync(dataSource(), source, auditId, refused.Status switch
            {
                ReplayStatus.PastRetention => "past_retention",
                _ => "refused",
            }, CancellationToken.None).ConfigureAwait(false);
            logger.LogInformation("Replay of {Source} by {Steward} refused: {Status}", StewardPosition.Format(source), steward, refused.Status);
            return refused;
        }

        await StewardshipRepository.ReplayedAsync(dataSource(), source, written!, CancellationToken.None).ConfigureAwait(false);
        logger.LogInformation("Steward {Steward} replayed {Source} as {ReplayedAs}{Edited}", steward, StewardPosition.Format(source),
            StewardPosition.Format(written!), edits is { Count: > 0 } ? $" with {string.Join(", ", edits.Keys.Order(StringComparer.Ordinal))} edited" : string.Empty);
        return new ReplayResult(source, ReplayStatus.Replayed, written, null);
    }

    private async Task AuditAsync(string steward, string action, SourcePosition source, string outcome, CancellationToken cancellationToken) =>
        await StewardshipRepository.AuditAsync(dataSource(), timeProvider.GetUtcNow(), steward, action, source, outcome, cancellationToken)
            .ConfigureAwait(false);

    private ConsumeResult<byte[]?, byte[]?>? Read(SourcePosition source, CancellationToken cancellationToken)
    {
        using var reader = NewReader();
        return Read(reader, source, cancellationToken);
    }

    /// <summary>
    /// The record at <paramref name="source"/>, or null when the topic no longer holds it (below the low watermark, or
    /// gone from a compacted or recreated topic). Waits at most <see cref="StewardshipOptions.ReadTimeout"/>.
    /// </summary>
    private ConsumeResult<byte[]?, byte[]?>? Read(IConsumer<byte[]?, byte[]?> reader, SourcePosition source, CancellationToken cancellationToken)
    {
        var partition = new TopicPartition(source.Topic, new Partition(source.Partition));
        var deadline = timeProvider.GetTimestamp() + (long)(options.ReadTimeout.TotalSeconds * timeProvider.TimestampFrequency);
        var watermarks = reader.QueryWatermarkOffsets(partition, options.ReadTimeout);
        if (source.Offset < watermarks.Low.Value || source.Offset >= watermarks.High.Value)
        {
            return null;
        }

        reader.Assign(new TopicPartitionOffset(partition, new Offset(source.Offset)));
        try
        {
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var left = TimeSpan.FromSeconds((double)(deadline - timeProvider.GetTimestamp()) / timeProvider.TimestampFrequency);
                if (left <= TimeSpan.Zero)
                {
                    throw new TimeoutException($"reading {StewardPosition.Format(source)} took longer than {options.ReadTimeout}");
                }

                var result = reader.Consume(left < TimeSpan.FromMilliseconds(250) ? left : TimeSpan.FromMilliseconds(250));
                if (result is null || result.IsPartitionEOF)
                {
                    continue;
                }

                // Past the offset: the record was removed (compaction, retention since the watermarks were read).
                return result.Offset.Value == source.Offset ? result : null;
            }
        }
        finally
        {
            reader.Unassign();
        }
    }

    private IConsumer<byte[]?, byte[]?> NewReader() =>
        new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig
        {
            BootstrapServers = bootstrapServers(),
            // Never subscribes or commits: the id only satisfies the client; positions come from the quarantine record.
            GroupId = "streams-steward-reader",
            ClientId = "streams-steward-reader",
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
            EnablePartitionEof = true,
        }).SetLogHandler((_, m) => logger.LogDebug("steward reader: {Message}", m.Message)).Build();

    private IProducer<byte[]?, byte[]?> Producer()
    {
        lock (gate)
        {
            return producer ??= new ProducerBuilder<byte[]?, byte[]?>(new ProducerConfig
            {
                BootstrapServers = bootstrapServers(),
                ClientId = "streams-steward-replay",
                EnableIdempotence = true,
                Acks = Acks.All,
                LingerMs = 0,
                MessageTimeoutMs = (int)Math.Max(1000, options.ReadTimeout.TotalMilliseconds * 3),
            }).SetLogHandler((_, m) => logger.LogDebug("steward producer: {Message}", m.Message)).Build();
        }
    }

    private Channel ChannelOf(string topic)
    {
        ArgumentNullException.ThrowIfNull(topic);
        var names = catalog.Names;
        return topic == names.Clickstream ? Channel.Clickstream
            : topic == names.Store ? Channel.Store
            : topic == names.Callcenter ? Channel.Callcenter
            : topic == names.Social ? Channel.Social
            : topic == names.Consent ? Channel.Consent
            : throw new ArgumentException($"'{topic}' is not an input topic; one of: {string.Join(", ", catalog.Inputs)}", nameof(topic));
    }

    private static void RequireSteward(string steward)
    {
        if (!ReplayEdits.IsStewardName(steward))
        {
            throw new ArgumentException("a steward is named by an operator account name (letters, digits, '.', '_', '-', at most 64, " +
                                        "at least one letter), never an e-mail address or phone number", nameof(steward));
        }
    }
}
