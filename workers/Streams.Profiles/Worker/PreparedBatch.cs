using Npgsql;
using Streams.Infrastructure.Hosting;
using Streams.Profiles.Processing;

namespace Streams.Profiles.Worker;

/// <summary>A batch loaded and applied in its open transaction, not saved yet (see <see cref="ProfilesWorker"/>).</summary>
/// <param name="Batch">The batch.</param>
/// <param name="Changes">What it changes.</param>
/// <param name="Now">The time it was applied at, stored with it.</param>
/// <param name="Carried">Profiles taken over from the batch before, with the versions it commits them at (checked before saving).</param>
internal sealed class PreparedBatch(OverlappedBatch<BatchItem> batch, BatchChanges changes, DateTimeOffset now, NpgsqlConnection connection,
    NpgsqlTransaction transaction, IReadOnlyDictionary<string, long> carried) : IDisposable
{
    private NpgsqlTransaction? transaction = transaction;
    private NpgsqlConnection? connection = connection;

    public OverlappedBatch<BatchItem> Batch => batch;

    public BatchChanges Changes => changes;

    public DateTimeOffset Now => now;

    public IReadOnlyDictionary<string, long> Carried => carried;

    public NpgsqlConnection Connection => connection ?? throw new ObjectDisposedException(nameof(PreparedBatch));

    public NpgsqlTransaction Transaction => transaction ?? throw new ObjectDisposedException(nameof(PreparedBatch));

    /// <summary>Every pseudonym <paramref name="items"/> mention: what a batch loads (and locks).</summary>
    public static HashSet<string> PseudonymsOf(IEnumerable<BatchItem> items)
    {
        // Sized for the usual one or two identifiers an event: growing it from empty rehashed a batch's worth of pseudonyms several times.
        var pseudonyms = new HashSet<string>(items is IReadOnlyCollection<BatchItem> counted ? counted.Count : 0, StringComparer.Ordinal);
        foreach (var item in items)
        {
            switch (item)
            {
                case EventItem e:
                    // By index: foreach over the interface boxes an enumerator per event.
                    for (var k = 0; k < e.Event.Identifiers.Count; k++)
                    {
                        var identifier = e.Event.Identifiers[k];
                        pseudonyms.Add(identifier.Pseudonym);
                        if (identifier.Previous is { } previous)
                        {
                            pseudonyms.Add(previous);
                        }
                    }

                    break;
                case ConsentItem c:
                    pseudonyms.UnionWith(ProfileBatchProcessor.PseudonymsOf(c.Command));
                    break;
            }
        }

        return pseudonyms;
    }

    /// <summary>Rolls back unless committed and closes the connection; the changes stay for publishing and metrics.</summary>
    public void Dispose()
    {
        transaction?.Dispose();
        connection?.Dispose();
        (transaction, connection) = (null, null);
    }
}
