using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Streams.Simulator;

/// <summary>One line of a till receipt (CONTRACT §2.2 <c>items</c>).</summary>
internal sealed record Line(string Sku, string Category, long Quantity, double UnitPrice);

/// <summary>An event before it is written: ordered fields a defect can still change.</summary>
internal sealed class Draft(string topic, string eventId, int? customerId, DateTimeOffset occurredAt, long order)
{
    private readonly List<KeyValuePair<string, object>> fields = [];

    public string Topic { get; } = topic;
    public string EventId { get; } = eventId;
    public int? CustomerId { get; } = customerId;
    public DateTimeOffset OccurredAt { get; } = occurredAt;
    public long Order { get; } = order;

    /// <summary>False for the events that carry a customer's identity links, family card sales and consent requests.</summary>
    public bool CanDefect { get; set; } = true;

    public IReadOnlyList<KeyValuePair<string, object>> Fields => fields;

    public bool Has(string name) => fields.Exists(f => f.Key == name);

    public object? Get(string name) => fields.Find(f => f.Key == name).Value;

    /// <summary>Replaces the field in place, or appends it.</summary>
    public void Set(string name, object value)
    {
        var i = fields.FindIndex(f => f.Key == name);
        if (i >= 0)
        {
            fields[i] = new(name, value);
        }
        else
        {
            fields.Add(new(name, value));
        }
    }

    public string ToJson()
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("event_id", EventId);
            if (!Has("occurred_at"))
            {
                w.WriteString("occurred_at", Timestamp(OccurredAt));
            }

            foreach (var (name, value) in fields)
            {
                w.WritePropertyName(name);
                WriteValue(w, value);
            }

            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    public static string Timestamp(DateTimeOffset at) =>
        at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    private static void WriteValue(Utf8JsonWriter w, object value)
    {
        switch (value)
        {
            case string s:
                w.WriteStringValue(s);
                break;
            case long l:
                w.WriteNumberValue(l);
                break;
            case int i:
                w.WriteNumberValue(i);
                break;
            case double d:
                w.WriteNumberValue(d);
                break;
            case bool b:
                w.WriteBooleanValue(b);
                break;
            case IReadOnlyList<Line> lines:
                w.WriteStartArray();
                foreach (var line in lines)
                {
                    w.WriteStartObject();
                    w.WriteString("sku", line.Sku);
                    w.WriteString("category", line.Category);
                    w.WriteNumber("quantity", line.Quantity);
                    w.WriteNumber("unit_price", line.UnitPrice);
                    w.WriteEndObject();
                }

                w.WriteEndArray();
                break;
            default:
                throw new InvalidOperationException($"No JSON form for {value.GetType()}.");
        }
    }
}
