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
        var pseudonyms = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in items)
        {
            switch (item)
            {
                case EventItem e:
                    foreach (var identifier in e.Event.Identifiers)
                    {
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
