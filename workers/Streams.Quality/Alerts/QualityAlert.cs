using System.Text.Json.Serialization;

namespace Streams.Quality.Alerts;

/// <summary>A rule's condition holding for a topic (and a reason code) now.</summary>
/// <param name="Rule">One of the rule names in <see cref="AlertRules"/>.</param>
/// <param name="Topic">The input topic.</param>
/// <param name="ReasonCode">The reason code, for the reason rules.</param>
/// <param name="Value">What was measured (a share, a rate ratio, minutes of silence, a count).</param>
/// <param name="Threshold">What it was compared with.</param>
/// <param name="Message">One line for a person.</param>
public sealed record AlertCondition(string Rule, string Topic, string? ReasonCode, double Value, double Threshold, string Message)
{
    /// <summary>The alert's identity: a raised alert and its clearing share it (the key on <c>data-quality-alerts</c>).</summary>
    public string Id => ReasonCode is null ? $"{Rule}/{Topic}" : $"{Rule}/{Topic}/{ReasonCode}";
}

/// <summary>A record of <c>data-quality-alerts</c> (CONTRACT.md §9.2).</summary>
public sealed record QualityAlert(
    [property: JsonPropertyName("alert_id")] string AlertId,
    [property: JsonPropertyName("rule")] string Rule,
    [property: JsonPropertyName("topic")] string Topic,
    [property: JsonPropertyName("reason_code")] string? ReasonCode,
    [property: JsonPropertyName("state")] string State,
    [property: JsonPropertyName("value")] double Value,
    [property: JsonPropertyName("threshold")] double Threshold,
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("raised_at")] DateTimeOffset RaisedAt,
    [property: JsonPropertyName("at")] DateTimeOffset At)
{
    public const string Raised = "raised";
    public const string Cleared = "cleared";
}
