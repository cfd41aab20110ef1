using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;

namespace Streams.IntegrationTests.Chaos;

/// <summary>
/// Probes the health endpoints of every host process it is told about, as an orchestrator would, and keeps every answer:
/// a liveness probe that ever answers anything but 200 is a flap (a host that is dead or not listening yet answers
/// nothing, which is not one).
/// </summary>
internal sealed class HealthWatch : IAsyncDisposable
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(250);
    private readonly HttpClient http = new() { Timeout = TimeSpan.FromSeconds(5) };
    private readonly ConcurrentDictionary<string, int> hosts = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<Answer> answers = new();
    private readonly CancellationTokenSource stop = new();
    private readonly Stopwatch clock = Stopwatch.StartNew();
    private readonly Task watching;

    public HealthWatch() => watching = Task.Run(WatchAsync);

    /// <summary>One probe's answer; <see cref="Status"/> is null when nothing answered.</summary>
    public sealed record Answer(TimeSpan At, string Host, string Path, HttpStatusCode? Status, string Body);

    public IReadOnlyCollection<Answer> Answers => answers;

    /// <summary>Liveness answers other than 200 (and other than no answer).</summary>
    public IEnumerable<Answer> LiveFlaps => answers.Where(a => a.Path == Live && a.Status is { } s && s != HttpStatusCode.OK);

    public const string Live = "/health/live";
    public const string Ready = "/health/ready";

    public void Watch(string host, int port) => hosts[host] = port;

    public void Forget(string host) => hosts.TryRemove(host, out _);

    /// <summary>Probes <paramref name="path"/> of <paramref name="host"/> until it answers <paramref name="wanted"/>; false on timeout.</summary>
    public async Task<bool> WaitForAsync(string host, string path, HttpStatusCode wanted, TimeSpan timeout, Func<bool>? giveUp = null)
    {
        var waited = Stopwatch.StartNew();
        while (waited.Elapsed < timeout && giveUp?.Invoke() != true)
        {
            if ((await ProbeAsync(host, hosts[host], path)).Status == wanted)
            {
                return true;
            }

            await Task.Delay(100);
        }

        return false;
    }

    private async Task WatchAsync()
    {
        while (!stop.IsCancellationRequested)
        {
            await Task.WhenAll(hosts.ToArray().SelectMany(h => new[] { ProbeAsync(h.Key, h.Value, Live), ProbeAsync(h.Key, h.Value, Ready) }));
            try
            {
                await Task.Delay(Interval, stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task<Answer> ProbeAsync(string host, int port, string path)
    {
        Answer answer;
        try
        {
            using var response = await http.GetAsync(new Uri($"http://127.0.0.1:{port}{path}"));
            answer = new Answer(clock.Elapsed, host, path, response.StatusCode, await response.Content.ReadAsStringAsync());
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
        {
            answer = new Answer(clock.Elapsed, host, path, null, e.Message);
        }

        answers.Enqueue(answer);
        return answer;
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        await watching;
        stop.Dispose();
        http.Dispose();
    }
}
