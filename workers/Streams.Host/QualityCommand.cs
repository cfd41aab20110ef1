using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Streams.Infrastructure.Health;

namespace Streams.Host;

/// <summary>
/// <c>quality --topic store [--minutes 60]</c>: asks a running host with the quality worker and <c>Health:Port</c> set
/// (the same settings as that host: appsettings, environment, <c>--Health:Port=…</c>) for the topic's data-quality
/// figures per minute, from its state store, and prints them as a table.
/// </summary>
internal static class QualityCommand
{
    public const string Name = "quality";

    private const string Usage = "usage: Streams.Host quality --topic <input topic> [--minutes N] [--Health:Port=P] [--Health:Address=A]";

    public static async Task<int> RunAsync(string[] args, TextWriter output)
    {
        var (topic, minutes, settings) = Parse(args[1..]);
        if (topic is null || minutes is null)
        {
            await Console.Error.WriteLineAsync(Usage).ConfigureAwait(false);
            return StreamsHost.ExitConfiguration;
        }

        var configuration = new ConfigurationBuilder()
            .SetBasePath(AppContext.BaseDirectory)
            .AddJsonFile("appsettings.json", optional: true)
            .AddEnvironmentVariables()
            .AddCommandLine([.. settings])
            .Build();
        var health = configuration.GetSection(HealthOptions.Section).Get<HealthOptions>() ?? new HealthOptions();
        if (!health.Enabled)
        {
            await Console.Error.WriteLineAsync("streams: quality asks a running host over its health port: set Health:Port to that host's").ConfigureAwait(false);
            return StreamsHost.ExitConfiguration;
        }

        var address = health.ClientHost;
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var url = string.Create(CultureInfo.InvariantCulture, $"http://{address}:{health.Port}/quality?topic={Uri.EscapeDataString(topic)}&minutes={minutes}");
        HttpResponseMessage response;
        try
        {
            response = await http.GetAsync(new Uri(url)).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            await Console.Error.WriteLineAsync($"streams: no host answered on {address}:{health.Port}: {e.Message}").ConfigureAwait(false);
            return StreamsHost.ExitFailure;
        }

        using (response)
        {
            var body = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                await Console.Error.WriteLineAsync("streams: that host does not run the quality worker (--only quality)").ConfigureAwait(false);
                return StreamsHost.ExitFailure;
            }

            using var json = JsonDocument.Parse(body);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                await Console.Error.WriteLineAsync($"streams: {json.RootElement.GetProperty("error").GetString()}").ConfigureAwait(false);
                return StreamsHost.ExitConfiguration;
            }

            await output.WriteLineAsync($"{"minute (UTC)",-17} {"inputs",8} {"quarantined",12} {"share",7} {"flagged",8} {"share",7}  reasons").ConfigureAwait(false);
            foreach (var m in json.RootElement.EnumerateArray())
            {
                var reasons = string.Join(", ", m.GetProperty("reasons").EnumerateObject().Select(r => $"{r.Name} {r.Value.GetInt64()}"));
                await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"{m.GetProperty("window_start").GetDateTimeOffset().UtcDateTime,-17:yyyy-MM-dd HH:mm} {m.GetProperty("inputs").GetInt64(),8} " +
                    $"{m.GetProperty("quarantined").GetInt64(),12} {Share(m.GetProperty("quarantined_share")),7} {m.GetProperty("flagged").GetInt64(),8} " +
                    $"{Share(m.GetProperty("flagged_share")),7}  {reasons}")).ConfigureAwait(false);
            }
        }

        return StreamsHost.ExitOk;
    }

    private static string Share(JsonElement share) =>
        share.ValueKind == JsonValueKind.Number ? share.GetDouble().ToString("P1", CultureInfo.InvariantCulture) : "-";

    /// <summary>The topic, the minutes (60 when not given; null when not a positive number) and the other settings.</summary>
    internal static (string? Topic, int? Minutes, List<string> Settings) Parse(IReadOnlyList<string> args)
    {
        var (topic, minutes, settings) = ((string?)null, (int?)60, new List<string>());
        for (var i = 0; i < args.Count; i++)
        {
            var value = i + 1 < args.Count ? args[i + 1] : null;
            switch (args[i])
            {
                case "--topic" when value is not null:
                    topic = value;
                    i++;
                    break;
                case "--minutes" when value is not null:
                    minutes = int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : null;
                    i++;
                    break;
                default:
                    settings.Add(args[i]);
                    break;
            }
        }

        return (topic, minutes, settings);
    }
}
