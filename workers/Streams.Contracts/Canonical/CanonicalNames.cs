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
    public static readonly CanonicalName ChannelField = CanonicalName.Encode("channel");
    public static readonly CanonicalName EventId = CanonicalName.Encode("event_id");
    public static readonly CanonicalName OccurredAt = CanonicalName.Encode("occurred_at");
    public static readonly CanonicalName Identifiers = CanonicalName.Encode("identifiers");
    public static readonly CanonicalName Type = CanonicalName.Encode("type");
    public static readonly CanonicalName Pseudonym = CanonicalName.Encode("pseudonym");
    public static readonly CanonicalName Previous = CanonicalName.Encode("previous");
    public static readonly CanonicalName Flags = CanonicalName.Encode("flags");
    public static readonly CanonicalName Source = CanonicalName.Encode("source");
    public static readonly CanonicalName Topic = CanonicalName.Encode("topic");
    public static readonly CanonicalName Partition = CanonicalName.Encode("partition");
    public static readonly CanonicalName Offset = CanonicalName.Encode("offset");
    public static readonly CanonicalName ClickstreamField = CanonicalName.Encode("clickstream");
    public static readonly CanonicalName EventType = CanonicalName.Encode("event_type");
    public static readonly CanonicalName PageCategory = CanonicalName.Encode("page_category");
    public static readonly CanonicalName DwellMs = CanonicalName.Encode("dwell_ms");
    public static readonly CanonicalName Revenue = CanonicalName.Encode("revenue");
    public static readonly CanonicalName Currency = CanonicalName.Encode("currency");
    public static readonly CanonicalName DeviceClass = CanonicalName.Encode("device_class");
    public static readonly CanonicalName StoreField = CanonicalName.Encode("store");
    public static readonly CanonicalName StoreId = CanonicalName.Encode("store_id");
    public static readonly CanonicalName Total = CanonicalName.Encode("total");
    public static readonly CanonicalName DiscountPct = CanonicalName.Encode("discount_pct");
    public static readonly CanonicalName ItemCount = CanonicalName.Encode("item_count");
    public static readonly CanonicalName Categories = CanonicalName.Encode("categories");
    public static readonly CanonicalName Category = CanonicalName.Encode("category");
    public static readonly CanonicalName Quantity = CanonicalName.Encode("quantity");
    public static readonly CanonicalName Amount = CanonicalName.Encode("amount");
    public static readonly CanonicalName Payment = CanonicalName.Encode("payment");
    public static readonly CanonicalName CallcenterField = CanonicalName.Encode("callcenter");
    public static readonly CanonicalName Reason = CanonicalName.Encode("reason");
    public static readonly CanonicalName DurationS = CanonicalName.Encode("duration_s");
    public static readonly CanonicalName Sentiment = CanonicalName.Encode("sentiment");
    public static readonly CanonicalName Resolved = CanonicalName.Encode("resolved");
    public static readonly CanonicalName SocialField = CanonicalName.Encode("social");
    public static readonly CanonicalName Platform = CanonicalName.Encode("platform");
    public static readonly CanonicalName Interaction = CanonicalName.Encode("interaction");
    public static readonly CanonicalName Followers = CanonicalName.Encode("followers");
    public static readonly CanonicalName IdentifierTypeField = CanonicalName.Encode("identifier_type");
    public static readonly CanonicalName Action = CanonicalName.Encode("action");
    public static readonly CanonicalName OtherPseudonyms = CanonicalName.Encode("other_pseudonyms");

    private static readonly string[] Channels = ["clickstream", "store", "callcenter", "social", "consent"];

    private static readonly string[] Actions = ["opt_out", "opt_in", "erase"];

    /// <summary>The value names encoded once: a name written from a string is transcoded and escape-checked each time.</summary>
    private static readonly CanonicalName[] EncodedChannels = [.. Channels.Select(CanonicalName.Encode)];

    private static readonly CanonicalName[] EncodedActions = [.. Actions.Select(CanonicalName.Encode)];

    private static readonly CanonicalName[] EncodedIdentifierTypes =
        [.. Enum.GetValues<IdentifierType>().Select(type => CanonicalName.Encode(IdentifierTypeNames.Name(type)))];

    /// <summary>The wire name of <paramref name="channel"/>, as <see cref="Contracts.Channel"/>'s JSON converter writes it.</summary>
    public static string ChannelName(Channel channel) => NameOf(Channels, (int)channel, channel);

    /// <summary>The wire name of <paramref name="action"/>: <c>opt_out</c>, <c>opt_in</c> or <c>erase</c>.</summary>
    public static string ActionName(ConsentAction action) => NameOf(Actions, (int)action, action);

    /// <summary><see cref="ChannelName"/>, encoded for a writer.</summary>
    internal static CanonicalName ChannelText(Channel channel) => NameOf(EncodedChannels, (int)channel, channel);

    /// <summary><see cref="ActionName"/>, encoded for a writer.</summary>
    internal static CanonicalName ActionText(ConsentAction action) => NameOf(EncodedActions, (int)action, action);

    /// <summary><see cref="IdentifierTypeNames.Name"/>, encoded for a writer.</summary>
    internal static CanonicalName IdentifierTypeText(IdentifierType type) => NameOf(EncodedIdentifierTypes, (int)type, type);

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
