using System.Globalization;
using System.Text.Json;

namespace Streams.IntegrationTests.Fixtures;

/// <summary>Valid input events as channel teams would publish them, with the personal values a test chooses.</summary>
public static class SampleEvents
{
    public static string When(int minutesAgo = 60) =>
        DateTimeOffset.UtcNow.AddMinutes(-minutesAgo).ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    public static string Clickstream(string eventId, string anonymousId, string? email = null, string? ip = null,
        string? userAgent = null, string? url = null) => Json(new Dictionary<string, object?>
    {
        ["event_id"] = eventId, ["occurred_at"] = When(), ["anonymous_id"] = anonymousId, ["email"] = email,
        ["event_type"] = "product_view", ["page_category"] = "shoes", ["url"] = url, ["dwell_ms"] = 1200,
        ["ip"] = ip, ["user_agent"] = userAgent,
    });

    public static string Store(string eventId, string? loyaltyId = null, string? email = null, string? phone = null,
        string? customerName = null) => Json(new Dictionary<string, object?>
    {
        ["event_id"] = eventId, ["occurred_at"] = When(), ["store_id"] = "S-042", ["loyalty_id"] = loyaltyId, ["email"] = email,
        ["phone"] = phone, ["customer_name"] = customerName, ["total"] = 25.0, ["currency"] = "EUR", ["payment"] = "card",
        ["items"] = new[] { new Dictionary<string, object> { ["sku"] = "A1", ["category"] = "grocery", ["quantity"] = 2, ["unit_price"] = 12.5 } },
    });

    public static string Callcenter(string eventId, string phone, string? email = null, string? customerName = null,
        string? transcript = null) => Json(new Dictionary<string, object?>
    {
        ["event_id"] = eventId, ["occurred_at"] = When(), ["phone"] = phone, ["email"] = email, ["customer_name"] = customerName,
        ["reason"] = "delivery", ["duration_s"] = 240, ["sentiment"] = -0.25, ["resolved"] = true, ["agent_id"] = "agent-7",
        ["transcript"] = transcript,
    });

    public static string Social(string eventId, string handle, string? email = null, string? text = null) =>
        Json(new Dictionary<string, object?>
        {
            ["event_id"] = eventId, ["occurred_at"] = When(), ["platform"] = "instagram", ["handle"] = handle, ["email"] = email,
            ["interaction"] = "comment", ["sentiment"] = 0.6, ["followers"] = 320, ["text"] = text,
        });

    public static string Consent(string eventId, string identifierType, string identifier, string action) =>
        Json(new Dictionary<string, object?>
        {
            ["event_id"] = eventId, ["occurred_at"] = When(), ["identifier_type"] = identifierType, ["identifier"] = identifier,
            ["action"] = action,
        });

    private static string Json(Dictionary<string, object?> fields) =>
        JsonSerializer.Serialize(fields.Where(kv => kv.Value is not null).ToDictionary(kv => kv.Key, kv => kv.Value));
}
