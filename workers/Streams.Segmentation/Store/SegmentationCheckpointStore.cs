using System.Text.Json;
using Npgsql;
using Streams.Segmentation.Engine;
using Streams.Segmentation.Model;

namespace Streams.Segmentation.Store;

/// <summary>A checkpoint as one transaction read it, and what of it is in the database.</summary>
public sealed class StoredCheckpoint
{
    internal StoredCheckpoint(SegmentationCheckpoint checkpoint, long generation, SampledProfile[]? storedSample)
    {
        Checkpoint = checkpoint;
        Generation = generation;
        StoredSample = storedSample;
    }

    /// <summary>The checkpoint; the mini-batch changes it in place.</summary>
    public SegmentationCheckpoint Checkpoint { get; }

    /// <summary>
    /// Members per segment of the checkpoint's model version as the database holds them, carried in memory from this
    /// instance's previous mini-batch (the engine keeps them in step with every assignment and removal); null when not
    /// known, and then counted in the database.
    /// </summary>
    public Dictionary<int, long>? Sizes { get; set; }

    /// <summary>Checkpoints written so far (0: none): the row's <c>generation</c>.</summary>
    public long Generation { get; internal set; }

    /// <summary>The sample's slots as the rows of <c>segmentation_sample</c> hold them; null when the rows are not the
    /// sample (an older release kept it inside the JSON), so the next save writes every slot.</summary>
    internal SampledProfile[]? StoredSample { get; set; }
}

/// <summary>
/// The model's checkpoint (<c>segmentation_model</c> and the sample's rows in <c>segmentation_sample</c>), kept in memory
/// between the mini-batches of this instance. Every load takes the model's lock and reads the row's generation; only when
/// someone else wrote a checkpoint since this instance's last commit (another instance during a rebalance, or nothing is
/// kept yet) is the checkpoint read from the database. A save writes the small JSON part and only the sample slots that
/// changed.
/// <para>
/// A checkpoint is handed out at most once: the mini-batch changes it in place, so it is kept again (<see cref="Keep"/>)
/// only once its transaction has committed. A transaction that fails or rolls back leaves nothing kept, and the next load
/// reads the database.
/// </para>
/// </summary>
public sealed class SegmentationCheckpointStore
{
    private StoredCheckpoint? kept;

    /// <summary>Checkpoints read from the database rather than found in memory.</summary>
    public int Reads { get; private set; }

    /// <summary>
    /// The model's checkpoint, locked until <paramref name="transaction"/> ends: instances of the worker (two during a
    /// rebalance) apply their mini-batches to the one model one after another, also before the first checkpoint row
    /// exists, so outbox rows are numbered in commit order and no model update is lost.
    /// </summary>
    public StoredCheckpoint Load(NpgsqlConnection connection, NpgsqlTransaction transaction)
    {
        // Its own statement before the read: in read committed a statement sees what committed before it began, so the
        // read below sees the checkpoint of whoever held the lock last.
        using (var exclusive = new NpgsqlCommand("select pg_advisory_xact_lock(hashtext('segmentation_model'))", connection, transaction))
        {
            exclusive.ExecuteNonQuery();
        }

        long generation;
        using (var current = new NpgsqlCommand("select generation from segmentation_model where id = 1", connection, transaction))
        {
            generation = current.ExecuteScalar() is long g ? g : 0;
        }

        var candidate = kept;
        kept = null;
        if (candidate is not null && candidate.Generation == generation)
        {
            return candidate;
        }

        Reads++;
        return Read(connection, transaction, generation);
    }

    /// <summary>
    /// The statements that store <paramref name="stored"/>'s checkpoint, for the mini-batch's transaction; advances
    /// <paramref name="stored"/> to what they store. Keep it (<see cref="Keep"/>) only after the transaction commits.
    /// </summary>
    public static List<NpgsqlBatchCommand> Write(StoredCheckpoint stored, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(stored);
        var checkpoint = stored.Checkpoint;
        var items = checkpoint.Profiles.Items;
        var commands = new List<NpgsqlBatchCommand>
        {
            SegmentationRepository.Command("""
                insert into segmentation_model (id, checkpoint, updated_at, generation) values (1, @checkpoint::json, @now, @generation)
                on conflict (id) do update set checkpoint = excluded.checkpoint, updated_at = excluded.updated_at,
                    generation = excluded.generation
                """,
                new NpgsqlParameter<string>("checkpoint", Json(checkpoint)),
                new NpgsqlParameter<DateTimeOffset>("now", now),
                new NpgsqlParameter<long>("generation", stored.Generation + 1)),
        };

        var previous = stored.StoredSample;
        if (previous is null)
        {
            commands.Add(SegmentationRepository.Command("delete from segmentation_sample"));
        }
        else if (previous.Length > items.Length)
        {
            commands.Add(SegmentationRepository.Command("delete from segmentation_sample where slot >= @count", new NpgsqlParameter<int>("count", items.Length)));
        }

        // A slot changed when it holds another entry than the stored one: entries are immutable and replaced on every
        // update, so a comparison of references finds them without looking at a vector.
        var changed = new List<int>();
        for (var slot = 0; slot < items.Length; slot++)
        {
            if (previous is null || slot >= previous.Length || !ReferenceEquals(previous[slot], items[slot]))
            {
                changed.Add(slot);
            }
        }

        if (changed.Count > 0)
        {
            // Vectors travel as one flat array with each one's start and length, cut back into rows in SQL.
            var starts = new int[changed.Count];
            var raw = new List<double>(changed.Count * FeatureSpace.Dimension);
            for (var i = 0; i < changed.Count; i++)
            {
                starts[i] = raw.Count;
                raw.AddRange(items[changed[i]].Raw);
            }

            commands.Add(SegmentationRepository.Command("""
                insert into segmentation_sample (slot, profile_id, raw)
                select u.slot, u.id, @raw[u.start + 1 : u.start + u.length]
                from unnest(@slots, @ids, @starts, @lengths) as u(slot, id, start, length)
                on conflict (slot) do update set profile_id = excluded.profile_id, raw = excluded.raw
                """,
                new NpgsqlParameter<int[]>("slots", [.. changed]),
                new NpgsqlParameter<string[]>("ids", [.. changed.Select(s => items[s].ProfileId)]),
                new NpgsqlParameter<int[]>("starts", starts),
                new NpgsqlParameter<int[]>("lengths", [.. changed.Select(s => items[s].Raw.Length)]),
                new NpgsqlParameter<double[]>("raw", [.. raw])));
        }

        stored.Generation++;
        stored.StoredSample = items;
        return commands;
    }

    /// <summary>Keeps <paramref name="stored"/> for the next load, once the transaction that wrote it has committed.</summary>
    public void Keep(StoredCheckpoint stored) => kept = stored;

    private static StoredCheckpoint Read(NpgsqlConnection connection, NpgsqlTransaction transaction, long generation)
    {
        SegmentationCheckpoint checkpoint;
        using (var command = new NpgsqlCommand("select checkpoint::text from segmentation_model where id = 1", connection, transaction))
        {
            if (command.ExecuteScalar() is not string json)
            {
                // No checkpoint yet: the first save writes every slot, over whatever rows there may be.
                return new StoredCheckpoint(SegmentationCheckpoint.Empty(), generation, null);
            }

            checkpoint = JsonSerializer.Deserialize(json, SegmentationJsonContext.Default.SegmentationCheckpoint)!;
        }

        if (checkpoint.Profiles.Items.Length > 0)
        {
            // Written by an older release: the sample is in the JSON, and the rows (if any) are not it.
            return new StoredCheckpoint(checkpoint, generation, null);
        }

        var items = new List<SampledProfile>();
        using (var command = new NpgsqlCommand("select slot, profile_id, raw from segmentation_sample order by slot", connection, transaction))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                if (reader.GetInt32(0) != items.Count)
                {
                    throw new InvalidDataException($"The segmentation sample has no slot {items.Count}.");
                }

                items.Add(new SampledProfile(reader.GetString(1), reader.GetFieldValue<double[]>(2)));
            }
        }

        SampledProfile[] sample = [.. items];
        checkpoint.Profiles = checkpoint.Profiles with { Items = sample };
        return new StoredCheckpoint(checkpoint, generation, sample);
    }

    // The JSON part: everything but the sample's entries, which have their rows.
    private static string Json(SegmentationCheckpoint checkpoint)
    {
        var profiles = checkpoint.Profiles;
        checkpoint.Profiles = profiles with { Items = [] };
        try
        {
            return JsonSerializer.Serialize(checkpoint, SegmentationJsonContext.Default.SegmentationCheckpoint);
        }
        finally
        {
            checkpoint.Profiles = profiles;
        }
    }
}
