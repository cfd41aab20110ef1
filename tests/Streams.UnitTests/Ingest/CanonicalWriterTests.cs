using System.Text;
using System.Text.Json;
using Streams.Contracts;
using Streams.Contracts.Canonical;
using Streams.Contracts.Identifiers;
using Streams.Ingest;
using Streams.Ingest.Pseudonymization;

namespace Streams.UnitTests.Ingest;

/// <summary>
/// The hand-written writer against the source-generated serializer it replaces on the hot path: the same bytes for
/// every shape, because downstream digests (store_rejected), seals and consumers depend on them.
/// </summary>
public sealed class CanonicalWriterTests
{
    private static readonly string[] Texts =
    [
        "", "plain", "Zürich straße", "日本語", "emoji 😀", "<script>&'\"+\\/", "+49 151", "a&b", "it's", "`x`", "a<b", "a>b", "back\\slash", "\"quoted\"", "~{[|]}^_ ?=@!#$%()*,-./:;", "\u007f", "\u00a0", "tab\tnew\nline\u0001", "\u2028\u2029", new string('x', 5000),
    ];

    private static readonly double[] Numbers =
    [
        0, -0.0, 0.1, 1.0 / 3, 59.9, 103.45, 1e21, 1e-7, double.Epsilon, double.MaxValue, -double.MaxValue, 1.7976931348623157e308, 123456789.0001,
    ];

    private static readonly long[] Integers = [0, 1, -1, 42, long.MaxValue, long.MinValue, 9007199254740993];

    [Theory]
    [InlineData(Channel.Clickstream)]
    [InlineData(Channel.Store)]
    [InlineData(Channel.Callcenter)]
    [InlineData(Channel.Social)]
    [InlineData(Channel.Consent)]
    public void PipelineOutput_OfEachChannel_IsTheSerializersBytes(Channel channel)
    {
        var result = IngestTestKit.Pipeline().Handle(channel, IngestTestKit.Source, null,
            Encoding.UTF8.GetBytes(IngestTestKit.Sample(channel).ToJsonString()), 1_000_000);
        var output = Assert.Single(result.Outputs, o => o.Kind != "quarantine");
        var reference = channel == Channel.Consent
            ? JsonSerializer.SerializeToUtf8Bytes(CanonicalJson.DeserializeConsentCommand(output.Value)!, CanonicalJsonContext.Default.ConsentCommand)
            : JsonSerializer.SerializeToUtf8Bytes(CanonicalJson.DeserializeCanonicalEvent(output.Value)!, CanonicalJsonContext.Default.CanonicalEvent);
        Assert.Equal(Encoding.UTF8.GetString(reference), Encoding.UTF8.GetString(output.Value));
    }

    [Fact]
    public void RandomEvents_OfEveryShape_AreTheSerializersBytes()
    {
        var random = new Random(17);
        for (var i = 0; i < 3000; i++)
        {
            var value = Event(random);
            Assert.Equal(Reference(value), Encoding.UTF8.GetString(CanonicalWriter.Write(value)));
        }
    }

    [Fact]
    public void RandomConsentCommands_AreTheSerializersBytes()
    {
        var random = new Random(18);
        for (var i = 0; i < 1000; i++)
        {
            var value = new ConsentCommand(Text(random), Instant(random), Pick(random, Enum.GetValues<IdentifierType>()), Text(random),
                Pick(random, Enum.GetValues<ConsentAction>()), Source(random),
                random.Next(3) switch { 0 => null, 1 => [], _ => [Text(random), Text(random)] });
            Assert.Equal(Encoding.UTF8.GetString(JsonSerializer.SerializeToUtf8Bytes(value, CanonicalJsonContext.Default.ConsentCommand)),
                Encoding.UTF8.GetString(CanonicalWriter.Write(value)));
        }
    }

    [Fact]
    public void AHugeEvent_ThenASmallOne_BothWrittenWhole()
    {
        var random = new Random(19);
        var huge = Event(random) with { EventId = new string('h', 200_000) };
        var small = Event(random);
        Assert.Equal(Reference(huge), Encoding.UTF8.GetString(CanonicalWriter.Write(huge)));
        Assert.Equal(Reference(small), Encoding.UTF8.GetString(CanonicalWriter.Write(small)));
    }

    /// <summary>
    /// The lineage groups' path: events written as values of a larger document, a huge one among them, each the bytes
    /// of <see cref="CanonicalWriter.Write(CanonicalEvent)"/> in its place; the thread does not keep the buffer the huge
    /// one grew.
    /// </summary>
    [Fact]
    public void EventsWrittenIntoADocument_HugeOrSmall_AreEachTheSerializersBytes()
    {
        var random = new Random(20);
        CanonicalEvent[] events = [Event(random), Event(random) with { EventId = new string('h', 200_000) }, Event(random)];
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        var threadBuffer = JsonBytes.Rent();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            foreach (var value in events)
            {
                writer.WriteStartObject();
                writer.WriteNumber("n", 1);
                writer.WritePropertyName("e");
                CanonicalJson.Write(writer, value);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }

        var expected = "[" + string.Join(",", events.Select(e => "{\"n\":1,\"e\":" + Reference(e) + "}")) + "]";
        Assert.Equal(expected, Encoding.UTF8.GetString(buffer.WrittenSpan));
        Assert.NotSame(threadBuffer, JsonBytes.Rent());
    }

    private static string Reference(CanonicalEvent value) =>
        Encoding.UTF8.GetString(JsonSerializer.SerializeToUtf8Bytes(value, CanonicalJsonContext.Default.CanonicalEvent));

    private static CanonicalEvent Event(Random random)
    {
        var channel = Pick(random, [Channel.Clickstream, Channel.Store, Channel.Callcenter, Channel.Social]);
        var identifiers = Enumerable.Range(0, random.Next(1, 4))
            .Select(_ => new CanonicalIdentifier(Pick(random, Enum.GetValues<IdentifierType>()), Text(random), random.Next(2) == 0 ? null : Text(random)))
            .ToList();
        var flags = Enumerable.Range(0, random.Next(3)).Select(_ => Text(random)).ToList();
        var value = new CanonicalEvent(channel, Text(random), Instant(random), identifiers, flags, Source(random));
        return channel switch
        {
            Channel.Clickstream => value with
            {
                Clickstream = new ClickstreamAttributes(Text(random), Maybe(random, Text), MaybeValue(random, Integer), MaybeValue(random, Number),
                    Maybe(random, Text), Text(random)),
            },
            Channel.Store => value with
            {
                Store = new StoreAttributes(Text(random), Number(random), Text(random), MaybeValue(random, Number), Integer(random),
                    [.. Enumerable.Range(0, random.Next(4)).Select(_ => new CategoryAmount(Text(random), Integer(random), Number(random)))],
                    Maybe(random, Text)),
            },
            Channel.Callcenter => value with { Callcenter = new CallcenterAttributes(Text(random), Integer(random), Number(random), random.Next(2) == 0) },
            _ => value with { Social = new SocialAttributes(Text(random), Text(random), MaybeValue(random, Number), MaybeValue(random, Integer)) },
        };
    }

    private static SourcePosition Source(Random random) => new(Text(random), random.Next(), Integer(random));

    /// <summary>Whole seconds and fractions with trailing zeros too: the writer trims them, and the point with them.</summary>
    private static DateTimeOffset Instant(Random random)
    {
        var instant = new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.FromHours(random.Next(-12, 13))).AddTicks(random.NextInt64(0, TimeSpan.TicksPerDay * 3650));
        var unit = random.Next(4) switch { 0 => TimeSpan.TicksPerSecond, 1 => TimeSpan.TicksPerMillisecond, 2 => 100, _ => 1 };
        return instant.AddTicks(-(instant.Ticks % unit));
    }

    private static string Text(Random random) => Texts[random.Next(Texts.Length)] + (random.Next(2) == 0 ? "" : random.Next().ToString("x", System.Globalization.CultureInfo.InvariantCulture));

    private static double Number(Random random) => random.Next(3) == 0 ? random.NextDouble() * 1e6 : Numbers[random.Next(Numbers.Length)];

    private static long Integer(Random random) => random.Next(3) == 0 ? random.NextInt64() : Integers[random.Next(Integers.Length)];

    private static T? Maybe<T>(Random random, Func<Random, T> make) where T : class => random.Next(2) == 0 ? null : make(random);

    private static T? MaybeValue<T>(Random random, Func<Random, T> make) where T : struct => random.Next(2) == 0 ? null : make(random);

    private static T Pick<T>(Random random, T[] values) => values[random.Next(values.Length)];
}
