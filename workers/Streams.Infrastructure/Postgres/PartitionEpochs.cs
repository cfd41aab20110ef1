using Npgsql;

namespace Streams.Infrastructure.Postgres;

/// <summary>
/// Fencing of checkpoints (migration 0002): an instance claims the next epoch of each partition assigned to it and
/// passes the epochs it holds with every checkpoint it writes; a checkpoint carrying an epoch that is no longer the
/// partition's current one fails with <see cref="PartitionFencedException"/> and its transaction rolls back whole.
/// </summary>
public static class PartitionEpochs
{
    /// <summary>The SQLSTATE <c>streams_fence</c> raises.</summary>
    public const string FencedSqlState = "SF409";

    /// <summary>
    /// Takes the next epoch of every partition in <paramref name="partitions"/> for <paramref name="consumer"/>, in one
    /// transaction; waits for a checkpoint of the previous owner that has already passed its check.
    /// </summary>
    public static Dictionary<(string Topic, int Partition), long> Claim(
        NpgsqlDataSource dataSource, string consumer, IReadOnlyCollection<(string Topic, int Partition)> partitions)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentNullException.ThrowIfNull(partitions);
        var epochs = new Dictionary<(string, int), long>();
        if (partitions.Count == 0)
        {
            return epochs;
        }

        // In one order for every instance, so that two claiming overlapping partitions cannot deadlock.
        using var command = dataSource.CreateCommand("""
            insert into partition_epochs (consumer, topic, partition, epoch, claimed_at)
            select @consumer, topic, partition, 1, now() from unnest(@topics, @partitions) as u(topic, partition)
            order by topic, partition
            on conflict (consumer, topic, partition) do update set epoch = partition_epochs.epoch + 1, claimed_at = now()
            returning topic, partition, epoch
            """);
        command.Parameters.Add(new NpgsqlParameter<string>("consumer", consumer));
        command.Parameters.Add(new NpgsqlParameter<string[]>("topics", partitions.Select(p => p.Topic).ToArray()));
        command.Parameters.Add(new NpgsqlParameter<int[]>("partitions", partitions.Select(p => p.Partition).ToArray()));
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            epochs[(reader.GetString(0), reader.GetInt32(1))] = reader.GetInt64(2);
        }

        return epochs;
    }

    /// <summary>
    /// The check to run first in a checkpoint's transaction when the lock it takes must be held from then on: fails it unless <paramref name="epochs"/> holds, for every
    /// partition in <paramref name="partitions"/>, the partition's current epoch (a partition missing from it is fenced).
    /// </summary>
    public static NpgsqlBatchCommand Check(
        string consumer, IEnumerable<(string Topic, int Partition)> partitions, IReadOnlyDictionary<(string Topic, int Partition), long> epochs)
    {
        ArgumentNullException.ThrowIfNull(partitions);
        var keys = partitions.Distinct().ToList();
        var command = new NpgsqlBatchCommand("select streams_fence(@consumer, @topics, @partitions, @epochs)");
        command.Parameters.Add(new NpgsqlParameter<string>("consumer", consumer));
        command.Parameters.Add(new NpgsqlParameter<string[]>("topics", keys.Select(k => k.Topic).ToArray()));
        command.Parameters.Add(new NpgsqlParameter<int[]>("partitions", keys.Select(k => k.Partition).ToArray()));
        command.Parameters.Add(EpochsOf(keys, epochs));
        return command;
    }

    /// <summary>The <c>@epochs</c> parameter: the epoch held for each of <paramref name="partitions"/>, in their order (0, never claimed, if none).</summary>
    public static NpgsqlParameter<long[]> EpochsOf(
        IEnumerable<(string Topic, int Partition)> partitions, IReadOnlyDictionary<(string Topic, int Partition), long> epochs)
    {
        ArgumentNullException.ThrowIfNull(epochs);
        return new NpgsqlParameter<long[]>("epochs", partitions.Select(k => epochs.TryGetValue(k, out var e) ? e : 0L).ToArray());
    }

    /// <summary>Runs <see cref="Check"/> on its own in <paramref name="transaction"/>; throws <see cref="PartitionFencedException"/> if refused.</summary>
    public static void Verify(NpgsqlConnection connection, NpgsqlTransaction transaction, string consumer,
        IEnumerable<(string Topic, int Partition)> partitions, IReadOnlyDictionary<(string Topic, int Partition), long> epochs)
    {
        using var batch = new NpgsqlBatch(connection, transaction);
        batch.BatchCommands.Add(Check(consumer, partitions, epochs));
        Run(batch.ExecuteNonQuery);
    }

    /// <summary>Runs <paramref name="execute"/> (a statement that includes a <see cref="Check"/>), turning a refusal into <see cref="PartitionFencedException"/>.</summary>
    public static T Run<T>(Func<T> execute)
    {
        ArgumentNullException.ThrowIfNull(execute);
        try
        {
            return execute();
        }
        catch (PostgresException e) when (e.SqlState == FencedSqlState)
        {
            throw new PartitionFencedException(e.MessageText, e);
        }
    }
}

/// <summary>
/// A checkpoint was refused because another instance has claimed one of its partitions since this one did: nothing of
/// the batch was stored. The session ends and a new one resumes from what the current owners stored.
/// </summary>
public sealed class PartitionFencedException(string message, Exception? inner = null) : Exception(message, inner);
