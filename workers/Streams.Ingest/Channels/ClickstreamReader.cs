using Streams.Contracts.Canonical;
using Streams.Contracts.Identifiers;
using Streams.Ingest.Pseudonymization;
using Streams.Ingest.Validation;

namespace Streams.Ingest.Channels;

/// <summary>CONTRACT §2.1. The IP, the user agent and the URL are read only to derive non-personal values.</summary>
internal static class ClickstreamReader
{
    public static readonly string[] EventTypes = ["page_view", "product_view", "add_to_cart", "purchase", "search"];

    private const int MaxPageCategoryLength = 64;

    /// <summary>Longer user agents (or ones with an escape or non-ASCII text) are read as a string first.</summary>
    private const int MaxShortUserAgent = 320;

    public static ClickstreamAttributes? Read(FieldReader f, IdentifierSet identifiers)
    {
        identifiers.Read(f, "anonymous_id", IdentifierType.Device, FieldLengths.AnonymousId, required: true);
        identifiers.Read(f, "email", IdentifierType.Email, FieldLengths.Email);
        var eventType = f.Enum("event_type", EventTypes, required: true);
        var pageCategory = f.String("page_category", FieldLengths.PageCategory);

        // The URL only matters without a page category; otherwise it is checked like the IP, without a copy.
        string? url = null;
        if (string.IsNullOrWhiteSpace(pageCategory))
        {
            url = f.String("url", FieldLengths.Url);
        }
        else
        {
            f.CheckString("url", FieldLengths.Url);
        }

        var dwellMs = f.Integer("dwell_ms", min: 0);
        var revenue = f.Number("revenue", min: 0);
        var currency = f.Currency("currency", required: f.Has("revenue"));
        // Only its device class is kept: a user agent of the usual kind is classified from the stack, without a string.
        Span<char> buffer = stackalloc char[MaxShortUserAgent];
        var deviceClass = f.TryGetShortAscii("user_agent", buffer, out var length)
            ? DeviceClassifier.Classify(buffer[..length])
            : DeviceClassifier.Classify(f.String("user_agent", FieldLengths.UserAgent));
        f.CheckString("ip", FieldLengths.Ip);

        return eventType is null
            ? null
            : new ClickstreamAttributes(eventType, PageCategory(pageCategory, url), dwellMs, revenue, currency, deviceClass);
    }

    private static string? PageCategory(string? pageCategory, string? url)
    {
        var given = pageCategory?.Trim();
        if (!string.IsNullOrEmpty(given))
        {
            return (given.Length > MaxPageCategoryLength ? given[..MaxPageCategoryLength] : given).ToLowerInvariant();
        }

        return url is null ? null : UrlParts.PathCategory(url);
    }
}
