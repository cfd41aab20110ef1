using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace Streams.Infrastructure.Hosting;

/// <summary>
/// Runs a worker's session (its consumer, producer and loop) and, when it fails for a reason that can pass (a broker
/// or PostgreSQL away, a timeout), starts a new one after a backoff that doubles up to a limit. A new session resumes
/// from the worker's checkpoints, so nothing in flight is lost.
/// </summary>
public static class RestartingLoop
{
    /// <summary>
    /// Runs sessions until <paramref name="stoppingToken"/> is cancelled or one fails for a reason that cannot pass,
    /// and tells <paramref name="heartbeat"/> each time a session starts, fails or the loop ends.
    /// </summary>
    public static void Run(
        string worker, WorkerHeartbeat heartbeat, Action<CancellationToken> session, TimeSpan firstDelay, TimeSpan maxDelay,
        ILogger logger, CancellationToken stoppingToken)
    {
        ArgumentNullException.ThrowIfNull(heartbeat);
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(logger);
        var delay = firstDelay;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    heartbeat.SessionStarting();
                    session(stoppingToken);
                    return;
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception e) when (IsTransient(e))
                {
                    logger.LogError("{Worker} session failed, starting over from the last checkpoint in {Delay}: {Error}",
                        worker, delay, Describe(e));
                    heartbeat.Retrying(e, delay);
                    if (stoppingToken.WaitHandle.WaitOne(delay))
                    {
                        return;
                    }

                    delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, maxDelay.Ticks));
                }
            }
        }
        catch (Exception e)
        {
            heartbeat.Failed(e);
            throw;
        }
        finally
        {
            // Also after a failure: Stopped does not overwrite Failed. Logged so an operator (and the shutdown test)
            // sees each loop end rather than be abandoned by the shutdown timeout.
            heartbeat.Stopped();
            logger.LogInformation("{Worker} loop ended", worker);
        }
    }

    /// <summary>The message and its causes' ("Exception while reading from stream" alone does not say it was a timeout).</summary>
    internal static string Describe(Exception e)
    {
        var text = e.Message;
        for (var inner = e.InnerException; inner is not null; inner = inner.InnerException)
        {
            text += $" ({inner.GetType().Name}: {inner.Message})";
        }

        return text;
    }

    /// <summary>Failures a new session can get past. Anything else is a bug and stops the worker loudly.</summary>
    public static bool IsTransient(Exception e) => e is KafkaException or Npgsql.NpgsqlException or TimeoutException or IOException
        or System.Net.Sockets.SocketException or InvalidOperationException { InnerException: Npgsql.NpgsqlException or IOException }
        || (e is InvalidOperationException && e.Message.Contains("connection", StringComparison.OrdinalIgnoreCase))
        || e is AggregateException { InnerExceptions: [var inner] } && IsTransient(inner);
}
