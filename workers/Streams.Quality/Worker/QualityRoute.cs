using System.Collections.Specialized;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Streams.Contracts.Topics;
using Streams.Infrastructure.Health;
using Streams.Quality.Figures;

namespace Streams.Quality.Worker;

/// <summary>
/// <c>GET /quality?topic=store&amp;minutes=60</c> on the health port: the topic's windows of the last minutes, oldest
/// first, answered by an interactive query of the worker's state store. Only input topics of the catalog are answered.
/// </summary>
internal sealed class QualityRoute(QualityWorker worker, TopicCatalog catalog, IOptions<QualityOptions> options, TimeProvider time) : IEndpointRoute
{
    public const string RoutePath = "/quality";

    public string Path => RoutePath;

    public (HttpStatusCode Status, byte[] Body) Answer(NameValueCollection query)
    {
        ArgumentNullException.ThrowIfNull(query);
        var topic = query["topic"];
        var maxMinutes = (int)options.Value.Retention.TotalMinutes;
        if (topic is null || !catalog.Inputs.Contains(topic, StringComparer.Ordinal))
        {
            return Problem($"topic must be one of {string.Join(", ", catalog.Inputs)}");
        }

        if (!int.TryParse(query["minutes"] ?? "60", NumberStyles.None, CultureInfo.InvariantCulture, out var minutes) || minutes < 1 || minutes > maxMinutes)
        {
            return Problem($"minutes must be a whole number from 1 to {maxMinutes}");
        }

        var now = time.GetUtcNow();
        var windows = worker.Query(topic, now - TimeSpan.FromMinutes(minutes), now);
        return (HttpStatusCode.OK, JsonSerializer.SerializeToUtf8Bytes(windows.ToList(), QualityJsonContext.Default.ListQualityMinute));
    }

    private static (HttpStatusCode, byte[]) Problem(string reason) =>
        (HttpStatusCode.BadRequest, JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string> { ["error"] = reason },
            QualityJsonContext.Default.DictionaryStringString));
}
