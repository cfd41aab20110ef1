using System.Text;
using System.Text.Json;
using Streams.Contracts.Identifiers;

namespace Streams.Contracts.Canonical;

/// <summary>
/// The property and value names of the canonical topic's records (CONTRACT §5.0), in one place: <see cref="CanonicalWriter"/>
/// writes them and <see cref="CanonicalEventReader"/> matches them, so the two cannot drift apart. The source-generated
/// <see cref="CanonicalJsonContext"/> derives the same names from the records' properties (snake case), and tests hold
/// the hand-written pair to its bytes.
/// </summary>
public static class CanonicalNames
{
    public static readonly JsonEncodedText ChannelField = JsonEncodedText.Encode("channel");
    public static readonly JsonEncodedText EventId = JsonEncodedText.Encode("event_id");
    public static readonly JsonEncodedText OccurredAt = JsonEncodedText.Encode("occurred_at");
    public static readonly JsonEncodedText Identifiers = JsonEncodedText.Encode("identifiers");
    public static readonly JsonEncodedText Type = JsonEncodedText.Encode("type");
    public static readonly JsonEncodedText Pseudonym = JsonEncodedText.Encode("pseudonym");
    public static readonly JsonEncodedText Previous = JsonEncodedText.Encode("previous");
    public static readonly JsonEncodedText Flags = JsonEncodedText.Encode("flags");
    public static readonly JsonEncodedText Source = JsonEncodedText.Encode("source");
    public static readonly JsonEncodedText Topic = JsonEncodedText.Encode("topic");
    public static readonly JsonEncodedText Partition = JsonEncodedText.Encode("partition");
    public static readonly JsonEncodedText Offset = JsonEncodedText.Encode("offset");
    public static readonly JsonEncodedText ClickstreamField = JsonEncodedText.Encode("clickstream");
    public static readonly JsonEncodedText EventType = JsonEncodedText.Encode("event_type");
    public static readonly JsonEncodedText PageCategory = JsonEncodedText.Encode("page_category");
    public static readonly JsonEncodedText DwellMs = JsonEncodedText.Encode("dwell_ms");
    public static readonly JsonEncodedText Revenue = JsonEncodedText.Encode("revenue");
    public static readonly JsonEncodedText Currency = JsonEncodedText.Encode("currency");
    public static readonly JsonEncodedText DeviceClass = JsonEncodedText.Encode("device_class");
    public static readonly JsonEncodedText StoreField = JsonEncodedText.Encode("store");
    public static readonly JsonEncodedText StoreId = JsonEncodedText.Encode("store_id");
    public static readonly JsonEncodedText Total = JsonEncodedText.Encode("total");
    public static readonly JsonEncodedText DiscountPct = JsonEncodedText.Encode("discount_pct");
    public static readonly JsonEncodedText ItemCount = JsonEncodedText.Encode("item_count");
    public static readonly JsonEncodedText Categories = JsonEncodedText.Encode("categories");
    public static readonly JsonEncodedText Category = JsonEncodedText.Encode("category");
    public static readonly JsonEncodedText Quantity = JsonEncodedText.Encode("quantity");
    public static readonly JsonEncodedText Amount = JsonEncodedText.Encode("amount");
    public static readonly JsonEncodedText Payment = JsonEncodedText.Encode("payment");
    public static readonly JsonEncodedText CallcenterField = JsonEncodedText.Encode("callcenter");
    public static readonly JsonEncodedText Reason = JsonEncodedText.Encode("reason");
    public static readonly JsonEncodedText DurationS = JsonEncodedText.Encode("duration_s");
    public static readonly JsonEncodedText Sentiment = JsonEncodedText.Encode("sentiment");
    public static readonly JsonEncodedText Resolved = JsonEncodedText.Encode("resolved");
    public static readonly JsonEncodedText SocialField = JsonEncodedText.Encode("social");
    public static readonly JsonEncodedText Platform = JsonEncodedText.Encode("platform");
    public static readonly JsonEncodedText Interaction = JsonEncodedText.Encode("interaction");
    public static readonly JsonEncodedText Followers = JsonEncodedText.Encode("followers");
    public static readonly JsonEncodedText IdentifierTypeField = JsonEncodedText.Encode("identifier_type");
    public static readonly JsonEncodedText Action = JsonEncodedText.Encode("action");
    public static readonly JsonEncodedText OtherPseudonyms = JsonEncodedText.Encode("other_pseudonyms");

    private static readonly string[] Channels = ["clickstream", "store", "callcenter", "social", "consent"];

    private static readonly string[] Actions = ["opt_out", "opt_in", "erase"];

    /// <summary>The value names encoded once: a name written from a string is transcoded and escape-checked each time.</summary>
    private static readonly JsonEncodedText[] EncodedChannels = [.. Channels.Select(name => JsonEncodedText.Encode(name))];

    private static readonly JsonEncodedText[] EncodedActions = [.. Actions.Select(name => JsonEncodedText.Encode(name))];

    private static readonly JsonEncodedText[] EncodedIdentifierTypes =
        [.. Enum.GetValues<IdentifierType>().Select(type => JsonEncodedText.Encode(IdentifierTypeNames.Name(type)))];

    /// <summary>The wire name of <paramref name="channel"/>, as <see cref="Contracts.Channel"/>'s JSON converter writes it.</summary>
    public static string ChannelName(Channel channel) => NameOf(Channels, (int)channel, channel);

    /// <summary>The wire name of <paramref name="action"/>: <c>opt_out</c>, <c>opt_in</c> or <c>erase</c>.</summary>
    public static string ActionName(ConsentAction action) => NameOf(Actions, (int)action, action);

    /// <summary><see cref="ChannelName"/>, encoded for a writer.</summary>
    internal static JsonEncodedText ChannelText(Channel channel) => NameOf(EncodedChannels, (int)channel, channel);

    /// <summary><see cref="ActionName"/>, encoded for a writer.</summary>
    internal static JsonEncodedText ActionText(ConsentAction action) => NameOf(EncodedActions, (int)action, action);

    /// <summary><see cref="IdentifierTypeNames.Name"/>, encoded for a writer.</summary>
    internal static JsonEncodedText IdentifierTypeText(IdentifierType type) => NameOf(EncodedIdentifierTypes, (int)type, type);

    /// <summary>The channels by their UTF-8 wire names, for readers that compare bytes.</summary>
    internal static (byte[] Name, Channel Value)[] Utf8Channels { get; } =
        [.. Enum.GetValues<Channel>().Select(c => (Encoding.UTF8.GetBytes(ChannelName(c)), c))];

    /// <summary>The identifier types by their UTF-8 wire names, for readers that compare bytes.</summary>
    internal static (byte[] Name, IdentifierType Value)[] Utf8IdentifierTypes { get; } =
        [.. Enum.GetValues<IdentifierType>().Select(t => (Encoding.UTF8.GetBytes(IdentifierTypeNames.Name(t)), t))];

    private static TName NameOf<TName, T>(TName[] names, int index, T value)
        where T : struct, Enum =>
        (uint)index < (uint)names.Length ? names[index] : throw new ArgumentOutOfRangeException(nameof(value), value, null);
}
