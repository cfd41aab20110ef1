using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Streams.Contracts;
using Streams.Ingest;
using Streams.Ingest.Pseudonymization;

namespace Streams.Benchmarks;

/// <summary>
/// Deterministic, varied, valid input records of one channel, shaped like production traffic: every record carries the
/// personal fields the contract allows (emails in mixed case with stray spaces, phones in national and international
/// forms, names, IPs, user agents, URLs with query strings, transcripts and post text), so the benchmark pays for
/// normalizing, pseudonymizing and dropping them. A fixed seed keeps runs comparable.
/// </summary>
internal static class SampleRecords
{
    /// <summary>The benchmarks report per record, so this is also their <c>OperationsPerInvoke</c>.</summary>
    public const int Count = 1000;

    /// <summary>Every sample occurred before this instant; the pipeline's clock stands still here.</summary>
    public static readonly DateTimeOffset Now = new(2026, 11, 28, 18, 0, 0, TimeSpan.Zero);

    private static readonly string[] FirstNames =
        ["Jane", "John", "Zoë", "Ahmed", "Mei", "Olusegun", "María José", "Łukasz", "Siobhán", "Björn", "Priya", "Kenji"];

    private static readonly string[] LastNames =
        ["Doe", "Smith", "Müller", "García López", "O'Brien", "Nguyen", "Kowalski", "Okafor", "Tanaka", "Andersson", "Patel"];

    private static readonly string[] Domains =
        ["example.com", "Example.COM", "mail.example.org", "exämple.de", "posteo.example.net", "uni-example.ac.uk"];

    private static readonly string[] UserAgents =
    [
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Safari/605.1.15",
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
        "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
        "Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    ];

    private static readonly string[] Categories = ["shoes", "Accessories", "kids", "outdoor", "home", "Electronics", "beauty", "sale"];
    private static readonly string[] EventTypes = ["page_view", "product_view", "add_to_cart", "purchase", "search"];
    private static readonly string[] Currencies = ["EUR", "USD", "GBP", "CHF", "SEK", "PLN"];
    private static readonly string[] Payments = ["card", "cash", "mobile", "gift"];
    private static readonly string[] CallReasons = ["billing", "delivery", "product", "returns", "complaint", "other"];
    private static readonly string[] Platforms = ["twitter", "instagram", "facebook", "tiktok", "reddit"];
    private static readonly string[] Interactions = ["mention", "like", "share", "comment", "follow", "review"];
    private static readonly string[] Actions = ["opt_out", "opt_in", "erase"];
    private static readonly string[] Offsets = ["Z", "+01:00", "-05:00", "+05:30", "Z", "Z"];

    private static readonly string[] Sentences =
    [
        "I ordered the red running shoes last week and they still have not arrived.",
        "My card number is 4111 1111 1111 1111 and I was charged twice for the same order.",
        "Please call me back on the mobile number I gave you, I am home after six.",
        "The parcel was left at my neighbour's door at Hauptstraße 12 without a note.",
        "I would like to return the jacket, it is too small, can you send a label to my email?",
        "Loved the new collection, the staff in the Berlin store were super helpful!",
        "Worst checkout experience ever, the app crashed three times 😡",
        "Is the discount code still valid for orders over 50 euros?",
    ];

    /// <summary>A pipeline with a fixed clock and a 32-byte key, as in production but without a host.</summary>
    public static IngestPipeline Pipeline() =>
        new(Pseudonymizer(), Options.Create(new IngestOptions()), new FixedClock(Now));

    public static Pseudonymizer Pseudonymizer()
    {
        var options = new PseudonymizationOptions { ActiveKeyId = "k1", DefaultRegion = "US" };
        options.Keys["k1"] = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
        return new Pseudonymizer(Options.Create(options));
    }

    public static byte[][] Create(Channel channel)
    {
        var random = new Random(20261128 + (int)channel);
        var records = new byte[Count][];
        var buffer = new ArrayBufferWriter<byte>(4096);
        for (var i = 0; i < records.Length; i++)
        {
            buffer.ResetWrittenCount();
            using (var w = new Utf8JsonWriter(buffer))
            {
                w.WriteStartObject();
                w.WriteString("event_id", $"{channel.ToString().ToLowerInvariant()[..3]}-{random.Next():x8}-{i:d6}");
                w.WriteString("occurred_at", Timestamp(random));
                switch (channel)
                {
                    case Channel.Clickstream:
                        WriteClickstream(w, random);
                        break;
                    case Channel.Store:
                        WriteStore(w, random);
                        break;
                    case Channel.Callcenter:
                        WriteCallcenter(w, random);
                        break;
                    case Channel.Social:
                        WriteSocial(w, random);
                        break;
                    case Channel.Consent:
                        WriteConsent(w, random);
                        break;
                    default:
                        throw new ArgumentOutOfRangeException(nameof(channel), channel, null);
                }

                w.WriteEndObject();
            }

            records[i] = buffer.WrittenSpan.ToArray();
        }

        return records;
    }

    private static void WriteClickstream(Utf8JsonWriter w, Random r)
    {
        var eventType = Pick(r, EventTypes);
        var category = Pick(r, Categories);
        w.WriteString("anonymous_id", Uuid(r));
        if (r.Next(2) == 0)
        {
            w.WriteString("email", Email(r));
        }

        w.WriteString("event_type", eventType);
        if (r.Next(3) != 0)
        {
            w.WriteString("page_category", category);
        }

        w.WriteString("url", eventType == "search"
            ? $"https://shop.example.com/search?q=red+running+shoes+size+{r.Next(36, 47)}&user={Uri.EscapeDataString(Email(r).Trim())}"
            : $"https://shop.example.com/{category.ToLowerInvariant()}/p/{r.Next(100000, 999999)}?utm_source=newsletter&utm_medium=email&cid={r.Next():x8}");
        w.WriteNumber("dwell_ms", r.Next(0, 120_000));
        if (eventType == "purchase")
        {
            w.WriteNumber("revenue", Math.Round(r.NextDouble() * 300, 2));
            w.WriteString("currency", Pick(r, Currencies));
        }

        w.WriteString("ip", r.Next(4) == 0
            ? $"2001:db8:{r.Next(0x10000):x}::{r.Next(0x10000):x}"
            : $"{r.Next(1, 224)}.{r.Next(256)}.{r.Next(256)}.{r.Next(1, 255)}");
        w.WriteString("user_agent", Pick(r, UserAgents));
    }

    private static void WriteStore(Utf8JsonWriter w, Random r)
    {
        w.WriteString("store_id", $"store-{Pick(r, ["berlin", "london", "paris", "new-york"])}-{r.Next(1, 300):d4}");
        var identifiers = r.Next(1, 8); // bit mask: at least one identifier, so every sale reaches a profile
        if ((identifiers & 1) != 0)
        {
            w.WriteString("loyalty_id", $" {(char)('a' + r.Next(26))}{(char)('a' + r.Next(26))}-{r.Next(10000, 99999)} ");
        }

        if ((identifiers & 2) != 0)
        {
            w.WriteString("email", Email(r));
        }

        if ((identifiers & 4) != 0)
        {
            w.WriteString("phone", Phone(r));
        }

        w.WriteString("customer_name", $"{Pick(r, FirstNames)} {Pick(r, LastNames)}");
        var discount = r.Next(4) == 0 ? r.Next(5, 40) : 0;
        var lines = r.Next(1, 7);
        var total = 0.0;
        var items = new (string Sku, string Category, int Quantity, double Price)[lines];
        for (var i = 0; i < lines; i++)
        {
            items[i] = ($"SKU-{r.Next(1000, 9999)}-{r.Next(10, 99)}", Pick(r, Categories), r.Next(1, 5), Math.Round(1 + (r.NextDouble() * 150), 2));
            total += items[i].Quantity * items[i].Price * (1 - (discount / 100.0));
        }

        w.WriteNumber("total", Math.Round(total, 2));
        w.WriteString("currency", Pick(r, Currencies));
        if (discount > 0 || r.Next(2) == 0)
        {
            w.WriteNumber("discount_pct", discount);
        }

        w.WriteStartArray("items");
        foreach (var (sku, category, quantity, price) in items)
        {
            w.WriteStartObject();
            w.WriteString("sku", sku);
            w.WriteString("category", category);
            w.WriteNumber("quantity", quantity);
            w.WriteNumber("unit_price", price);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteString("payment", Pick(r, Payments));
    }

    private static void WriteCallcenter(Utf8JsonWriter w, Random r)
    {
        w.WriteString("phone", Phone(r));
        if (r.Next(2) == 0)
        {
            w.WriteString("email", Email(r));
        }

        w.WriteString("customer_name", $"{Pick(r, FirstNames)} {Pick(r, LastNames)}");
        w.WriteString("reason", Pick(r, CallReasons));
        w.WriteNumber("duration_s", r.Next(20, 3600));
        w.WriteNumber("sentiment", Math.Round((r.NextDouble() * 2) - 1, 2));
        w.WriteBoolean("resolved", r.Next(3) != 0);
        w.WriteString("agent_id", $"agent-{r.Next(1, 400)}");
        w.WriteString("transcript", Text(r, r.Next(3, 9)));
    }

    private static void WriteSocial(Utf8JsonWriter w, Random r)
    {
        w.WriteString("platform", Pick(r, Platforms));
        w.WriteString("handle", $"{(r.Next(2) == 0 ? "@" : "")}{Pick(r, FirstNames).Replace(' ', '_')}{Pick(r, LastNames)[..2]}{r.Next(1000)}");
        if (r.Next(3) == 0)
        {
            w.WriteString("email", Email(r));
        }

        w.WriteString("interaction", Pick(r, Interactions));
        w.WriteNumber("sentiment", Math.Round((r.NextDouble() * 2) - 1, 2));
        w.WriteNumber("followers", r.Next(0, 250_000));
        w.WriteString("text", Text(r, r.Next(1, 3)));
    }

    private static void WriteConsent(Utf8JsonWriter w, Random r)
    {
        var (type, identifier) = r.Next(5) switch
        {
            0 => ("email", Email(r)),
            1 => ("phone", Phone(r)),
            2 => ("loyalty", $"{(char)('A' + r.Next(26))}{(char)('A' + r.Next(26))}-{r.Next(10000, 99999)}"),
            3 => ("device", Uuid(r)),
            _ => ("social", $"{Pick(r, Platforms)}:@{Pick(r, FirstNames).Replace(' ', '_')}{r.Next(1000)}"),
        };
        w.WriteString("identifier_type", type);
        w.WriteString("identifier", identifier);
        w.WriteString("action", Pick(r, Actions));
    }

    private static string Timestamp(Random r)
    {
        var offset = Pick(r, Offsets);
        var local = Now.AddDays(-r.Next(0, 30)).AddSeconds(-r.Next(86_400)).AddHours(-14).UtcDateTime;
        var fraction = r.Next(3) == 0 ? "" : $".{r.Next(1000):d3}";
        return local.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture) + fraction + offset;
    }

    private static string Email(Random r)
    {
        var first = Pick(r, FirstNames).Replace(' ', '.');
        var last = Pick(r, LastNames).Replace(' ', '-').Replace("'", "", StringComparison.Ordinal);
        var padding = r.Next(4) == 0 ? " " : "";
        return $"{padding}{first}.{last}{r.Next(100)}@{Pick(r, Domains)}{padding}";
    }

    private static string Phone(Random r) => r.Next(5) switch
    {
        0 => $"({r.Next(200, 999)}) {r.Next(100, 999):d3}-{r.Next(10000):d4}",
        1 => $"+49 30 {r.Next(100000, 9999999)}",
        2 => $"0044 20 {r.Next(1000, 9999)} {r.Next(1000, 9999)}",
        3 => $"{r.Next(200, 999)}.{r.Next(100, 999)}.{r.Next(10000):d4}",
        _ => $"+33 6 {r.Next(10, 99)} {r.Next(10, 99)} {r.Next(10, 99)} {r.Next(10, 99)}",
    };

    private static string Uuid(Random r)
    {
        Span<byte> bytes = stackalloc byte[16];
        r.NextBytes(bytes);
        return new Guid(bytes).ToString();
    }

    private static string Text(Random r, int sentences)
    {
        var parts = new string[sentences];
        for (var i = 0; i < sentences; i++)
        {
            parts[i] = Pick(r, Sentences);
        }

        return string.Join(' ', parts);
    }

    private static string Pick(Random r, string[] values) => values[r.Next(values.Length)];

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
