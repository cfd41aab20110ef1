using Streams.Contracts.Quarantine;

namespace Streams.Ingest.Validation;

/// <summary>The fields every input event has (CONTRACT §2): <c>event_id</c> and <c>occurred_at</c>.</summary>
internal readonly record struct EventHeader(string? EventId, DateTimeOffset? OccurredAt)
{
    /// <summary>Counted in Unicode code points, as JSON Schema's <c>maxLength</c> counts.</summary>
    public const int MaxEventIdLength = FieldLengths.EventId;

    public bool IsValid => EventId is not null && OccurredAt is not null;

    public static EventHeader Read(FieldReader f, DateTimeOffset now, TimeSpan maxClockSkew)
    {
        // Both bounds in one check below, so the detail states the whole rule.
        var eventId = f.String("event_id", int.MaxValue, required: true);
        if (eventId is not null && FieldReader.CodePoints(eventId) is < 1 or > MaxEventIdLength)
        {
            f.Violation("event_id", $"must be 1–{MaxEventIdLength} characters");
            eventId = null;
        }

        DateTimeOffset? occurredAt = null;
        Span<char> buffer = stackalloc char[FieldLengths.Timestamp];
        scoped ReadOnlySpan<char> text = default;
        var hasText = f.TryGetShortAscii("occurred_at", buffer, out var length);
        if (hasText)
        {
            text = buffer[..length];
        }
        else if (f.String("occurred_at", FieldLengths.Timestamp, required: true) is { } read)
        {
            text = read;
            hasText = true;
        }

        if (hasText)
        {
            if (!Rfc3339Timestamp.TryParse(text, out var parsed))
            {
                f.Violation("occurred_at", "must be an RFC 3339 timestamp with an offset, e.g. 2026-11-28T14:03:11.250Z");
            }
            else if (parsed > now + maxClockSkew)
            {
                f.Reasons.Add(ReasonCodes.FutureTimestamp, "occurred_at", $"is more than {maxClockSkew} ahead of the ingest clock");
            }
            else
            {
                occurredAt = parsed;
            }
        }

        return new EventHeader(eventId, occurredAt);
    }
}
