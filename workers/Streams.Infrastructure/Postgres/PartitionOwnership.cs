using Confluent.Kafka;
using Npgsql;

namespace Streams.Infrastructure.Postgres;

/// <summary>
/// The epochs one session of a worker holds (see <see cref="PartitionEpochs"/>): claimed in the consumer's assignment
/// handler, before the stored offsets are read, and let go on revocation or loss. <see cref="Epochs"/> is a snapshot a
/// batch takes when it is cut and writes its checkpoint with, on whatever thread commits it.
/// </summary>
public sealed class PartitionOwnership(NpgsqlDataSource dataSource, string consumer)
{
    private volatile IReadOnlyDictionary<(string Topic, int Partition), long> epochs = new Dictionary<(string Topic, int Partition), long>();

    /// <summary>The consumer name the epochs are kept under.</summary>
    public string Consumer => consumer;

    /// <summary>The epochs held now, by partition; never changed in place.</summary>
    public IReadOnlyDictionary<(string Topic, int Partition), long> Epochs => epochs;

    /// <summary>Claims the next epoch of every one of <paramref name="partitions"/>; a previous owner's checkpoints are refused from now on.</summary>
    public void Claim(IEnumerable<TopicPartition> partitions)
    {
        var claimed = PartitionEpochs.Claim(dataSource, consumer, [.. partitions.Select(p => (p.Topic, p.Partition.Value))]);
        var next = new Dictionary<(string Topic, int Partition), long>(epochs);
        foreach (var (partition, epoch) in claimed)
        {
            next[partition] = epoch;
        }

        epochs = next;
    }

    /// <summary>Lets go of <paramref name="partitions"/>: a checkpoint of this session that still names one is refused.</summary>
    public void Release(IEnumerable<TopicPartition> partitions)
    {
        var next = new Dictionary<(string Topic, int Partition), long>(epochs);
        foreach (var partition in partitions)
        {
            next.Remove((partition.Topic, partition.Partition.Value));
        }

        epochs = next;
    }

    /// <summary>
    /// Opens a transaction that has passed the fence for <paramref name="partitions"/> and holds it until it ends: for
    /// a worker that must do something outside PostgreSQL (produce) between the check and its checkpoint. A new owner's
    /// claim waits for this transaction; a refused check throws <see cref="PartitionFencedException"/>.
    /// </summary>
    public FencedTransaction BeginFenced(IEnumerable<(string Topic, int Partition)> partitions) =>
        FencedTransaction.Begin(dataSource, consumer, partitions, epochs);
}

/// <summary>A transaction that passed the fence (<see cref="PartitionOwnership.BeginFenced"/>), with its own connection.</summary>
public sealed class FencedTransaction(NpgsqlConnection connection, NpgsqlTransaction transaction) : IDisposable
{
    /// <summary>
    /// Opens a transaction that has passed the fence for <paramref name="partitions"/> with <paramref name="epochs"/> (a
    /// session's snapshot) and holds it until it ends; a refused check throws <see cref="PartitionFencedException"/>.
    /// </summary>
    public static FencedTransaction Begin(NpgsqlDataSource dataSource, string consumer, IEnumerable<(string Topic, int Partition)> partitions,
        IReadOnlyDictionary<(string Topic, int Partition), long> epochs)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        var connection = dataSource.OpenConnection();
        try
        {
            var transaction = connection.BeginTransaction();
            PartitionEpochs.Verify(connection, transaction, consumer, partitions, epochs);
            return new FencedTransaction(connection, transaction);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    public NpgsqlConnection Connection => connection;

    public NpgsqlTransaction Transaction => transaction;

    public void Commit() => transaction.Commit();

    /// <summary>Rolls back unless committed, and closes the connection: the epochs' locks go with it.</summary>
    public void Dispose()
    {
        transaction.Dispose();
        connection.Dispose();
    }
}
