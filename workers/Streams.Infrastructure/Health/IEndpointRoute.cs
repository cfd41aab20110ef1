using System.Collections.Specialized;
using System.Net;

namespace Streams.Infrastructure.Health;

/// <summary>
/// A read-only JSON answer a capability adds to the health port (the data-quality figures, for instance), so a
/// command or a dashboard can ask a running host what only that host's memory holds.
/// </summary>
public interface IEndpointRoute
{
    /// <summary>The path it answers, e.g. <c>/quality</c>.</summary>
    string Path { get; }

    /// <summary>The status and UTF-8 JSON body for a GET with <paramref name="query"/>.</summary>
    (HttpStatusCode Status, byte[] Body) Answer(NameValueCollection query);
}
