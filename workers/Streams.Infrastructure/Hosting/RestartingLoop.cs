using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;
using Streams.Infrastructure.Postgres;

namespace Streams.Infrastructure.Hosting;

/// <summary>
/// Runs a worker's session (its consumer, producer and loop) and, when it fails for a reason that can pass (a broker
/// or PostgreSQL away, a timeout), starts a new one after a backoff: a Polly retry whose pause doubles from the first
/// delay up to the limit, with jitter so that several instances do not come back in step, and starts again from the
/// first delay once a session has run for a healthy period. A new session resumes from the worker's checkpoints, so
/// nothing in flight is lost.
/// </summary>
public static class RestartingLoop
{
    /// <summary>
    /// Runs sessions until <paramref name="stoppingToken"/> is cancelled or one fails for a reason that cannot pass,
    /// and tells <paramref name="heartbeat"/> each time a session starts, fails or the loop ends.
    /// </summary>
    public static void Run(
        string worker, WorkerHeartbeat heartbeat, Action<CancellationToken> session, TimeSpan firstDelay, TimeSpan maxDelay,
        ILogger logger, CancellationToken stoppingToken, TimeProvider? clock = null)
    {
        ArgumentNullException.ThrowIfNull(heartbeat);
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(logger);
        clock ??= TimeProvider.System;
        var backoff = new SessionBackoff(firstDelay, maxDelay, clock);
        var pipeline = new ResiliencePipelineBuilder { TimeProvider = clock }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<Exception>(e => IsTransient(e) && !stoppingToken.IsCancellationRequested),
                MaxRetryAttempts = int.MaxValue,
                DelayGenerator = _ => ValueTask.FromResult<TimeSpan?>(backoff.Next()),
                OnRetry = args =>
                {
                    var e = args.Outcome.Exception!;
                    if (e is PartitionFencedException)
                    {
                        // Another instance owns a partition now: nothing of the batch was stored; the new session takes
                        // whatever partitions the group gives it.
                        logger.LogWarning("{Worker} checkpoint refused, another instance owns the partition now: {Error}", worker, e.Message);
                        heartbeat.Fenced();
                    }

                    logger.LogError("{Worker} session failed, starting over from the last checkpoint in {Delay}: {Error}",
                        worker, args.RetryDelay, Describe(e));
                    heartbeat.Retrying(e, args.RetryDelay);
                    return default;
                },
            })
            .Build();
        try
        {
            pipeline.Execute(token =>
            {
                heartbeat.SessionStarting();
                backoff.SessionStarting();
                session(token);
            }, stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception e) when (IsTransient(e) && stoppingToken.IsCancellationRequested)
        {
            // Failed while shutting down: not a fault of the worker.
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

    /// <summary>Failures a new session can get past (<see cref="Failures.IsTransient"/>). Anything else is a bug and stops the worker loudly.</summary>
    public static bool IsTransient(Exception e) => Failures.IsTransient(e);
}
