using System.Net;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using Streams.Infrastructure.Hosting;
using Streams.IntegrationTests.Fixtures;
using Streams.Quality.Alerts;
using Streams.Quality.Figures;
using Streams.Stewards;
using Streams.Stewards.Security;

namespace Streams.IntegrationTests.Stewards;

/// <summary>
/// The stewards' console on Kestrel at a free loopback port, over <see cref="FakeStewardship"/> and a few quality figures,
/// with two users: <c>sam</c> (steward) and <c>vera</c> (viewer). Logs are captured to search for personal data.
/// </summary>
internal sealed partial class ConsoleServer : IAsyncDisposable
{
    public const string StewardName = "sam";
    public const string ViewerName = "vera";
    public const string Password = "correct horse battery staple";

    private readonly WebApplication app;
    private readonly ILoggerFactory loggers;

    private ConsoleServer(WebApplication app, ILoggerFactory loggers, FakeStewardship stewardship, CapturingLoggerProvider logs, StewardsOptions options)
    {
        (this.app, this.loggers, Stewardship, Logs, Options) = (app, loggers, stewardship, logs, options);
        Address = EmbeddedWeb.Address(app);
    }

    public Uri Address { get; }

    public FakeStewardship Stewardship { get; }

    public CapturingLoggerProvider Logs { get; }

    /// <summary>The console's settings, the same instance it reads: a test may change its users.</summary>
    public StewardsOptions Options { get; }

    public static async Task<ConsoleServer> StartAsync()
    {
        var now = DateTimeOffset.UtcNow;
        var stewardship = new FakeStewardship(now);
        var options = new StewardsOptions
        {
            Port = 1,
            Users = new(StringComparer.Ordinal)
            {
                [StewardName] = new StewardUser { PasswordHash = PasswordHashing.Hash(Password), Role = StewardRoles.Steward },
                [ViewerName] = new StewardUser { PasswordHash = PasswordHashing.Hash(Password), Role = StewardRoles.Viewer },
            },
        };
        var logs = new CapturingLoggerProvider();
        var loggers = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Debug).AddProvider(logs));
        var services = new StewardsServices(stewardship, new Figures(now), ["clickstream", "store", "callcenter", "social", "consent"], TimeProvider.System);
        var app = StewardsConsole.Build(options, services, loggers, port: 0);
        await app.StartAsync();
        return new ConsoleServer(app, loggers, stewardship, logs, options);
    }

    /// <summary>A client that keeps cookies and does not follow redirects, so tests see each answer.</summary>
    public HttpClient Client() =>
        new(new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false }) { BaseAddress = Address };

    /// <summary>A client signed in as <paramref name="name"/> through the sign-in form.</summary>
    public async Task<HttpClient> SignedInAsync(string name, string password = Password)
    {
        var client = Client();
        var token = await TokenAsync(client, "/signin");
        using var response = await client.PostAsync(new Uri("/signin", UriKind.Relative), Form(token, ("name", name), ("password", password)));
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        return client;
    }

    /// <summary>The antiforgery token of the first form on <paramref name="path"/>.</summary>
    public static async Task<string> TokenAsync(HttpClient client, string path)
    {
        var html = await client.GetStringAsync(new Uri(path, UriKind.Relative));
        return TokenField().Match(html) is { Success: true } m ? WebUtility.HtmlDecode(m.Groups[1].Value) : throw new InvalidOperationException("no token on " + path);
    }

    public static FormUrlEncodedContent Form(string? token, params (string Name, string Value)[] fields) =>
        new([.. fields.Select(f => KeyValuePair.Create(f.Name, f.Value)), .. token is null ? [] : new[] { KeyValuePair.Create("__antiforgery", token) }]);

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
        loggers.Dispose();
    }

    [GeneratedRegex("name=\"__antiforgery\" value=\"([^\"]+)\"")]
    private static partial Regex TokenField();

    /// <summary>An hour of store figures (one bad minute) and one alert in force.</summary>
    private sealed class Figures(DateTimeOffset now) : IQualityReader
    {
        public IReadOnlyList<QualityMinute> Windows(string topic, DateTimeOffset from, DateTimeOffset to) => topic != "store" ? [] :
        [
            .. Enumerable.Range(0, 60).Select(i =>
            {
                // The hour before the page's own "to": a page drawn in the minute after the server started still gets 60.
                var last = to.UtcDateTime;
                var start = new DateTimeOffset(last.Year, last.Month, last.Day, last.Hour, last.Minute, 0, TimeSpan.Zero).AddMinutes(i - 59);
                var quarantined = i == 50 ? 40 : 2;
                return QualityMinute.Of(topic, start, TimeSpan.FromMinutes(1),
                    new QualityFigures(100, quarantined, 1, new Dictionary<string, long> { ["invalid_currency"] = quarantined }));
            }).Where(m => m.WindowStart >= from && m.WindowStart <= to),
        ];

        public IReadOnlyList<QualityAlert> ActiveAlerts =>
        [
            new("quarantined_share/store", AlertRules.QuarantinedShare, "store", null, QualityAlert.Raised, 0.4, 0.2,
                "store: 40.0% of inputs quarantined over 5 minutes (threshold 20.0%)", now.AddMinutes(-9), now.AddMinutes(-9)),
        ];
    }
}
