using Microsoft.Extensions.Logging;
using Npgsql;
using Streams.Infrastructure.Kafka;
using Streams.Profiles.Processing;

namespace Streams.Profiles.Worker;

/// <summary>
/// Publishes the profiles outbox (<c>profile_outbox</c>) in order through an idempotent producer and forgets what the
/// broker acknowledged. A crash before the forgetting re-publishes: consumers see a repeat with the same version, never a gap.
/// </summary>
/// <remarks>
/// A committed batch is published in the background while the worker goes on with the next one: from memory (the very
/// records its transaction wrote to the table), one batch at a time and in commit order. Whatever goes wrong there
/// ends the session at the worker's next step, and the next session publishes what is left in the table, in order.
/// </remarks>
internal sealed class OutboxPublisher(NpgsqlDataSource dataSource, string bootstrapServers, ProfilesMetrics metrics, ILogger logger) : IDisposable
{
    private readonly TableOutboxPublisher outbox = new(dataSource, "profile_outbox", bootstrapServers, "streams-profiles", logger);
    private Task inFlight = Task.CompletedTask;

    /// <summary>Publishes whatever an earlier session committed and did not publish, oldest first.</summary>
    public void PublishPending() => outbox.PublishPending();

    /// <summary>
    /// Publishes one committed batch's records, forgets their rows (<paramref name="seqs"/>), then runs
    /// <paramref name="published"/>, all in the background. Waits for the batch before first, and throws what failed it.
    /// </summary>
    public void PublishInBackground(IReadOnlyList<OutboxMessage> messages, long[] seqs, Action published)
    {
        Wait();
        inFlight = Task.Run(() =>
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            outbox.Send(messages.Select(m => (m.Topic, m.Key, m.Value)));
            outbox.Forget(seqs);
            metrics.Stage("publish", clock.Elapsed);
            published();
        });
    }

    /// <summary>Waits until the batch being published is out and forgotten; throws what failed it.</summary>
    public void Wait()
    {
        var task = inFlight;
        inFlight = Task.CompletedTask;
        task.GetAwaiter().GetResult();
    }

    public void Dispose() => outbox.Dispose();
}
