using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Streams.IntegrationTests.Fixtures;
using Streams.Quality.Alerts;

namespace Streams.IntegrationTests.Quality;

/// <summary>Alerts from the real host's quality worker, on a clock the test moves.</summary>
[Collection(IntegrationCollection.Name)]
public sealed class QualityAlertTests(KafkaFixture kafka, PostgresFixture postgres)
{
    [Fact]
    public async Task QuarantinedShareAboveThreshold_RaisesAlert_ThenClearsWhenTheWindowMovesOn_AndASilentTopicToo()
    {
        var topics = await TestTopics.CreateAsync(kafka);
        var applicationId = KafkaFixture.Unique("quality");
        var figures = new QualityWorkerTests(kafka, postgres);
        figures.CreateInternalTopics(topics, applicationId);
        var clock = new FakeTimeProvider(QualityWorkerTests.Minute(DateTimeOffset.UtcNow) + TimeSpan.FromSeconds(30));
        await using var host = await InProcessHost.StartAsync(kafka, postgres, topics,
            builder => builder.Services.AddSingleton<TimeProvider>(clock),
            QualityWorkerTests.QualityArguments(applicationId, "--Quality:AlertInterval=00:00:01", "--Quality:Alerts:SilentAfter=00:10:00",
                "--Quality:Alerts:Window=00:02:00", "--Quality:Alerts:MinInputs=20"));
        var alerts = host.Get<QualityAlertService>();
        using (var feed = new QualityFeed(kafka.BootstrapServers, topics.Catalog))
        {
            // 40 clickstream records, 12 of them quarantined (30 % > the default 20 %); callcenter and social get one clean record each.
            for (var i = 0; i < 40; i++)
            {
                var at = clock.GetUtcNow() - TimeSpan.FromSeconds(20) + TimeSpan.FromMilliseconds(i * 100);
                if (i % 10 < 3)
                {
                    feed.Quarantined(topics.Names.Clickstream, at, "unknown_currency");
                }
                else
                {
                    feed.Accepted(topics.Names.Clickstream, at);
                }
            }

            feed.Accepted(topics.Names.Callcenter, clock.GetUtcNow());
            feed.Accepted(topics.Names.Social, clock.GetUtcNow());
            feed.Accepted(topics.Names.Store, clock.GetUtcNow());
            feed.Flush();
            await QualityWorkerTests.EventuallyAsync(() => host.Get<Streams.Quality.Worker.QualityWorker>()
                .Query(topics.Names.Clickstream, clock.GetUtcNow() - TimeSpan.FromMinutes(1), clock.GetUtcNow()).Sum(m => m.Inputs), n => n == 40);
        }

        var shareId = $"{AlertRules.QuarantinedShare}/{topics.Names.Clickstream}";
        await TickUntilAsync(clock, alerts, a => a.Any(x => x.AlertId == shareId));
        Assert.Single(alerts.Active);

        // Three minutes on: the records are out of the two-minute window, so the share no longer holds.
        clock.Advance(TimeSpan.FromMinutes(3));
        await TickUntilAsync(clock, alerts, a => a.Count == 0);

        // Ten minutes on, nothing arrived anywhere: every watched topic but consent (exempt by default) is silent.
        clock.Advance(TimeSpan.FromMinutes(8));
        await TickUntilAsync(clock, alerts, a => a.Count == 4);
        Assert.All(alerts.Active, a => Assert.Equal(AlertRules.TopicSilent, a.Rule));

        var records = await TopicReader.WaitForAsync(kafka.BootstrapServers, [topics.Names.DataQualityAlerts], r => r.Count >= 6, TimeSpan.FromSeconds(30));
        var states = records.Select(r => (Key: Encoding.UTF8.GetString(r.Message.Key!), Value: JsonDocument.Parse(r.Message.Value!).RootElement)).ToList();
        Assert.Equal(["raised", "cleared"], states.Where(s => s.Key == shareId).Select(s => s.Value.GetProperty("state").GetString()));
        var raised = states.First(s => s.Key == shareId).Value;
        Assert.Equal(0.3, raised.GetProperty("value").GetDouble(), 3);
        Assert.Equal(topics.Names.Clickstream, raised.GetProperty("topic").GetString());
        Assert.Contains(host.Logs.Lines, line => line.StartsWith(nameof(LogLevel.Warning), StringComparison.Ordinal) && line.Contains(shareId, StringComparison.Ordinal));
    }

    /// <summary>Moves the clock a second at a time (each move fires the evaluation timer) until the active alerts satisfy <paramref name="done"/>.</summary>
    private static async Task TickUntilAsync(FakeTimeProvider clock, QualityAlertService alerts, Func<IReadOnlyList<QualityAlert>, bool> done)
    {
        for (var i = 0; i < 300 && !done(alerts.Active); i++)
        {
            clock.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(100);
        }

        Assert.True(done(alerts.Active), string.Join("; ", alerts.Active.Select(a => a.Message)));
    }
}
