using Confluent.Kafka;
using Npgsql;
using Streams.Contracts;
using Streams.Contracts.Topics;

namespace Streams.Ingest.Worker;

/// <summary>What ingest makes of one input record: what to write, how it was judged before de-duplication, and whether it is a duplicate.</summary>
internal readonly record struct Judgement(IngestResult Written, IngestDisposition Disposition, bool Duplicate);

/// <summary>
/// Judges a batch's records with <see cref="IngestPipeline.Handle"/>, which never throws (no record can stop the loop),
/// and decides <c>duplicate_event</c> for the records that would be used: a repeat within the batch (the first in input
/// order keeps the id), or an id another record has claimed in PostgreSQL within the window. The claim is committed
/// before anything is produced, so another instance never uses the same id at the same time.
/// </summary>
internal sealed class RecordJudge(IngestPipeline pipeline, TopicCatalog catalog, TimeSpan dedupWindow, TimeProvider timeProvider)
{
    private readonly Dictionary<string, Channel> channels = new(StringComparer.Ordinal)
    {
        [catalog.Names.Clickstream] = Channel.Clickstream,
        [catalog.Names.Store] = Channel.Store,
        [catalog.Names.Callcenter] = Channel.Callcenter,
        [catalog.Names.Social] = Channel.Social,
        [catalog.Names.Consent] = Channel.Consent,
    };

    public Judgement[] Judge(IReadOnlyList<ConsumeResult<byte[]?, byte[]?>> batch, NpgsqlDataSource dataSource)
    {
        var judged = new Judgement[batch.Count];
        var now = timeProvider.GetUtcNow();
        var first = new Dictionary<(string Topic, string EventId), int>();
        var repeats = new List<(int Index, string EventId)>();
        var claims = new List<SeenEvent>();
        for (var i = 0; i < batch.Count; i++)
        {
            var record = batch[i];
            var result = pipeline.Handle(channels[record.Topic], Position(record), record.Message.Key, record.Message.Value ?? [], OutputProducer.MaxValueBytes);
            judged[i] = new Judgement(result, result.Outcome.Disposition, Duplicate: false);
            if (result.Outcome.EventId is not { } eventId || result.Outcome.Disposition == IngestDisposition.Quarantined)
            {
                continue;
            }

            if (first.TryAdd((record.Topic, eventId), i))
            {
                claims.Add(new SeenEvent(record.Topic, eventId, record.Partition.Value, record.Offset.Value, now));
            }
            else
            {
                repeats.Add((i, eventId));
            }
        }

        var held = new IngestStateRepository(dataSource).ClaimAsync(claims, now - dedupWindow, CancellationToken.None).GetAwaiter().GetResult();
        // A repeat later in the batch may hold the claim itself: a batch before a crash claimed it, and the records are
        // read again in another order (another partition's first). Then it keeps it, and the first one is the duplicate.
        var holders = HeldByRepeats(batch, repeats, held, dataSource);
        foreach (var (i, eventId) in repeats)
        {
            if (!holders.Contains(Position(batch[i])))
            {
                judged[i] = Duplicate(batch[i], judged[i]);
            }
        }

        foreach (var id in held)
        {
            judged[first[id]] = Duplicate(batch[first[id]], judged[first[id]]);
        }

        return judged;
    }

    private HashSet<SourcePosition> HeldByRepeats(
        IReadOnlyList<ConsumeResult<byte[]?, byte[]?>> batch, List<(int Index, string EventId)> repeats, IReadOnlySet<(string Topic, string EventId)> held,
        NpgsqlDataSource dataSource)
    {
        var candidates = repeats.Where(r => held.Contains((batch[r.Index].Topic, r.EventId)))
            .Select(r => (batch[r.Index].Topic, IngestStateRepository.StoredEventId(r.EventId), batch[r.Index].Partition.Value, batch[r.Index].Offset.Value))
            .ToList();
        if (candidates.Count == 0)
        {
            return [];
        }

        var holders = IngestStateRepository.HoldersAsync(dataSource, candidates, CancellationToken.None).GetAwaiter().GetResult();
        return [.. holders.Select(h => new SourcePosition(h.Topic, h.Partition, h.Offset))];
    }

    private Judgement Duplicate(ConsumeResult<byte[]?, byte[]?> record, Judgement judged) => judged with
    {
        Written = pipeline.HandleDuplicate(channels[record.Topic], Position(record), record.Message.Key, record.Message.Value ?? [], OutputProducer.MaxValueBytes),
        Duplicate = true,
    };

    private static SourcePosition Position(ConsumeResult<byte[]?, byte[]?> record) => new(record.Topic, record.Partition.Value, record.Offset.Value);
}
