using System.Diagnostics.Metrics;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Streams.Contracts.Topics;
using Streams.Infrastructure.Hosting;
using Streams.Quality.Figures;
using Streams.Quality.Worker;

namespace Streams.Quality.Alerts;

/// <summary>
/// Every <see cref="QualityOptions.AlertInterval"/> (on the injected clock), reads the watched topics' figures from the
/// quality store, evaluates <see cref="AlertRules"/> and, for each alert raised or cleared, writes a record to
/// <c>data-quality-alerts</c>, a log line (warning when raised) and the <c>streams.quality.alerts</c> metric.
/// </summary>
public sealed partial class QualityAlertService : BackgroundService
{
    public const string MeterName = "Streams.Quality";

    private readonly QualityWorker figures;
    private readonly StreamsEnvironment environment;
    private readonly TopicCatalog catalog;
    private readonly QualityOptions options;
    private readonly TimeProvider time;
    private readonly ILogger<QualityAlertService> logger;
    private readonly AlertTracker tracker = new();
    private readonly HashSet<string> silenceExempt;
    private readonly Counter<long> transitions;
    private readonly Lock gate = new();
    private IProducer<string, byte[]>? producer;

    public QualityAlertService(
        QualityWorker figures, StreamsEnvironment environment, TopicCatalog catalog, IOptions<QualityOptions> options,
        TimeProvider time, IMeterFactory meterFactory, ILogger<QualityAlertService> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(meterFactory);
        (this.figures, this.environment, this.catalog, this.options, this.time, this.logger) =
            (figures, environment, catalog, options.Value, time, logger);
        silenceExempt = new HashSet<string>(this.options.Alerts.SilenceExempt.Append(catalog.Names.Consent), StringComparer.Ordinal);
        var meter = meterFactory.Create(MeterName);
        transitions = meter.CreateCounter<long>("streams.quality.alerts", "{alert}", "Data-quality alerts raised and cleared, by rule, topic and state.");
        meter.CreateObservableGauge("streams.quality.alerts.active", ObserveActive, "{alert}", "Data-quality alerts in force, by rule and topic.");
    }

    /// <summary>The alerts in force.</summary>
    public IReadOnlyList<QualityAlert> Active
    {
        get
        {
            lock (gate)
            {
                return [.. tracker.Active];
            }
        }
    }

    /// <summary>Evaluates the rules once and publishes what changed; returns the changes.</summary>
    public IReadOnlyList<QualityAlert> Evaluate(DateTimeOffset watchingSince)
    {
        var now = time.GetUtcNow();
        var from = now - AlertRules.Lookback(options.Alerts) - options.Window;
        var history = catalog.Inputs.ToDictionary(topic => topic, topic => figures.Query(topic, from, now), StringComparer.Ordinal);
        IReadOnlyList<QualityAlert> changes;
        lock (gate)
        {
            changes = tracker.Update(AlertRules.Evaluate(options.Alerts, now, watchingSince, history, silenceExempt), now);
        }

        foreach (var alert in changes)
        {
            Publish(alert);
        }

        producer?.Flush(TimeSpan.FromSeconds(10));
        return changes;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        producer = new ProducerBuilder<string, byte[]>(new ProducerConfig
        {
            BootstrapServers = environment.BootstrapServers,
            ClientId = options.ApplicationId + "-alerts",
            EnableIdempotence = true,
        }).Build();
        var since = time.GetUtcNow();
        using var timer = new PeriodicTimer(options.AlertInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    Evaluate(since);
                }
                catch (KafkaException e)
                {
                    // The next tick tries again: an alert not yet sent stays pending in the producer or is sent then.
                    LogEvaluationFailed(logger, e);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public override void Dispose()
    {
        producer?.Dispose();
        base.Dispose();
    }

    private void Publish(QualityAlert alert)
    {
        var raised = alert.State == QualityAlert.Raised;
        if (raised)
        {
            LogRaised(logger, alert.AlertId, alert.Message);
        }
        else
        {
            LogCleared(logger, alert.AlertId, alert.Message);
        }

        transitions.Add(1, new("rule", alert.Rule), new("topic", alert.Topic), new("state", alert.State));
        producer?.Produce(catalog.Names.DataQualityAlerts, new Message<string, byte[]>
        {
            Key = alert.AlertId,
            Value = JsonSerializer.SerializeToUtf8Bytes(alert, QualityJsonContext.Default.QualityAlert),
        }, report =>
        {
            if (report.Error.IsError)
            {
                LogNotDelivered(logger, alert.AlertId, report.Error.Reason);
            }
        });
    }

    private IEnumerable<Measurement<long>> ObserveActive()
    {
        foreach (var group in Active.GroupBy(a => (a.Rule, a.Topic)))
        {
            yield return new Measurement<long>(group.Count(), new("rule", group.Key.Rule), new("topic", group.Key.Topic));
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Data-quality alert {AlertId} raised: {Text}")]
    private static partial void LogRaised(ILogger logger, string alertId, string text);

    [LoggerMessage(Level = LogLevel.Information, Message = "Data-quality alert {AlertId} cleared: {Text}")]
    private static partial void LogCleared(ILogger logger, string alertId, string text);

    [LoggerMessage(Level = LogLevel.Error, Message = "Data-quality alert {AlertId} not delivered: {Reason}")]
    private static partial void LogNotDelivered(ILogger logger, string alertId, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Data-quality alerts not evaluated this time")]
    private static partial void LogEvaluationFailed(ILogger logger, Exception e);
}
