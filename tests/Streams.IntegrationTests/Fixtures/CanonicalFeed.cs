using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Confluent.Kafka;
using Streams.Contracts;
using Streams.Contracts.Canonical;
using Streams.Contracts.Identifiers;
using Streams.Contracts.Outputs;
using Streams.Ingest;
using Streams.Ingest.Pseudonymization;
using Streams.Ingest.Worker;

namespace Streams.IntegrationTests.Fixtures;

/// <summary>Writes canonical records as ingest does (same JSON, same headers), so the profiles worker can be driven directly.</summary>
public sealed class CanonicalFeed(string bootstrap, string topic) : IDisposable
{
    private readonly IProducer<byte[], byte[]> producer =
        new ProducerBuilder<byte[], byte[]>(new ProducerConfig { BootstrapServers = bootstrap, LingerMs = 2, EnableIdempotence = true }).Build();

    private int sequence;

    public static string Pseudonym(string type, string value) =>
        "k1:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(type + ":" + value)))[..32];

    public static CanonicalIdentifier Id(IdentifierType type, string value) => new(type, Pseudonym(type.ToString(), value));

    /// <summary>A store event of <paramref name="total"/> in category <paramref name="category"/>.</summary>
    public static CanonicalEvent StoreEvent(string eventId, DateTimeOffset at, double total, string category, params CanonicalIdentifier[] ids) =>
        new(Channel.Store, eventId, at, ids, [], new SourcePosition("store", 0, 0))
        {
            Store = new StoreAttributes("S-1", total, "EUR", 10, 2, [new CategoryAmount(category, 2, total)], "card"),
        };

    public static CanonicalEvent ClickEvent(string eventId, DateTimeOffset at, string type, params CanonicalIdentifier[] ids) =>
        new(Channel.Clickstream, eventId, at, ids, [], new SourcePosition("clickstream", 0, 0))
        {
            Clickstream = new ClickstreamAttributes(type, "shoes", 1500, type == "purchase" ? 40 : null, type == "purchase" ? "EUR" : null, "mobile"),
        };

    public static CanonicalEvent CallEvent(string eventId, DateTimeOffset at, params CanonicalIdentifier[] ids) =>
        new(Channel.Callcenter, eventId, at, ids, [], new SourcePosition("callcenter", 0, 0))
        {
            Callcenter = new CallcenterAttributes("complaint", 300, -0.5, false),
        };

    public static CanonicalEvent SocialEvent(string eventId, DateTimeOffset at, params CanonicalIdentifier[] ids) =>
        new(Channel.Social, eventId, at, ids, [], new SourcePosition("social", 0, 0))
        {
            Social = new SocialAttributes("instagram", "share", 0.8, 500),
        };

    public void Send(CanonicalEvent e) =>
        Produce(Encoding.UTF8.GetBytes(e.Identifiers.Count > 0 ? e.Identifiers[0].Pseudonym : e.EventId),
            CanonicalJson.Serialize(e with { Source = e.Source with { Offset = Interlocked.Increment(ref sequence) } }), OutputHeaders.KindEvent);

    public void Send(ConsentCommand c) => Produce(Encoding.UTF8.GetBytes(c.Pseudonym), CanonicalJson.Serialize(c), OutputHeaders.KindConsent);

    public void SendRaw(byte[] value, string? kind) => Produce(Encoding.UTF8.GetBytes("raw"), value, kind);

    /// <summary>A record exactly as given: any key, value and headers, as no ingest would write them.</summary>
    public void SendRaw(byte[]? key, byte[]? value, Headers headers) =>
        producer.Produce(topic, new Message<byte[], byte[]> { Key = key!, Value = value!, Headers = headers });

    public static ConsentCommand Consent(string eventId, CanonicalIdentifier id, ConsentAction action) =>
        new(eventId, DateTimeOffset.UtcNow, id.Type, id.Pseudonym, action, new SourcePosition("consent", 0, 0));

    public void Flush() => producer.Flush(TimeSpan.FromSeconds(30));

    private void Produce(byte[] key, byte[] value, string? kind)
    {
        var headers = kind is null ? new Headers() : OutputHeaders.For(new SourcePosition("input", 0,
            long.Parse(Interlocked.Increment(ref sequence).ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture)), kind);
        producer.Produce(topic, new Message<byte[], byte[]> { Key = key, Value = value, Headers = headers });
    }

    public void Dispose()
    {
        producer.Flush(TimeSpan.FromSeconds(30));
        producer.Dispose();
    }
}

/// <summary>Synthetic customers with several identifiers each, used across channels, and the ground truth of who is who.</summary>
public static class CustomerGenerator
{
    public sealed record Customer(int Number, IReadOnlyList<CanonicalIdentifier> Identifiers);

    public static (List<Customer> Customers, List<CanonicalEvent> Events) Generate(int customers, int seed, string prefix)
    {
        var random = new Random(seed);
        var start = new DateTimeOffset(2026, 6, 1, 0, 0, 0, TimeSpan.Zero);
        var people = new List<Customer>();
        var events = new List<(double Order, CanonicalEvent Event)>();
        for (var c = 0; c < customers; c++)
        {
            var device = CanonicalFeed.Id(IdentifierType.Device, $"{prefix}-dev-{c}");
            var email = CanonicalFeed.Id(IdentifierType.Email, $"{prefix}-c{c}@example.com");
            var phone = CanonicalFeed.Id(IdentifierType.Phone, $"{prefix}-+1555{c:D7}");
            var loyalty = CanonicalFeed.Id(IdentifierType.Loyalty, $"{prefix}-L{c}");
            var social = CanonicalFeed.Id(IdentifierType.Social, $"{prefix}-instagram:c{c}");
            people.Add(new Customer(c, [device, email, phone, loyalty, social]));
            var t = start.AddMinutes(random.Next(0, 60 * 24 * 30));
            var n = 0;
            CanonicalEvent[] journey =
            [
                // A device before login, the email at login, the loyalty card at the till, the phone at the call
                // center, a handle on social media: each event links a new identifier to one already known.
                CanonicalFeed.ClickEvent($"{prefix}-{c}-{n++}", t, "page_view", device),
                CanonicalFeed.ClickEvent($"{prefix}-{c}-{n++}", t.AddMinutes(5), "add_to_cart", device, email),
                CanonicalFeed.StoreEvent($"{prefix}-{c}-{n++}", t.AddDays(2), 20 + random.Next(100), random.Next(2) == 0 ? "shoes" : "grocery", loyalty, email),
                CanonicalFeed.CallEvent($"{prefix}-{c}-{n++}", t.AddDays(3), phone, email),
                CanonicalFeed.SocialEvent($"{prefix}-{c}-{n++}", t.AddDays(4), social, email),
                CanonicalFeed.ClickEvent($"{prefix}-{c}-{n++}", t.AddDays(5), "purchase", device),
                CanonicalFeed.StoreEvent($"{prefix}-{c}-{n++}", t.AddDays(6), 15, "grocery", loyalty),
            ];
            // Customers interleave; each one's events keep their order only loosely, as in real traffic.
            events.AddRange(journey.Select((e, i) => (random.NextDouble() + i * 0.3, e)));
        }

        return (people, events.OrderBy(e => e.Order).Select(e => e.Event).ToList());
    }
}
