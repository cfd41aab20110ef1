using Streams.Contracts.Identifiers;

namespace Streams.Contracts.Canonical;

/// <summary>
/// A validated, pseudonymous event: the value of the internal canonical topic that the profiles worker consumes.
/// It holds no personal data: identifiers are pseudonyms, and free text, names, IPs, user agents and URLs are
/// reduced to derived values. Exactly one channel section is set, the one named by <see cref="Channel"/>;
/// absent optional values are omitted from the JSON. Snake-case JSON (<c>event_id</c>, <c>occurred_at</c>, …),
/// timestamps in UTC with <c>Z</c>.
/// </summary>
/// <param name="Channel">The input channel, <c>clickstream</c>, <c>store</c>, <c>callcenter</c> or <c>social</c>.</param>
/// <param name="EventId">The producer's <c>event_id</c> (1–128 characters).</param>
/// <param name="OccurredAt">The producer's <c>occurred_at</c>, converted to UTC.</param>
/// <param name="Identifiers">Every valid identifier of the event; at least one. Identity resolution links them all.</param>
/// <param name="Flags">Codes of problems that did not stop the event (<c>invalid_email</c>, <c>invalid_phone</c>,
/// <c>total_mismatch</c>); empty for a clean event. A flagged event also has a quarantine record.</param>
/// <param name="Source">The input record this event came from.</param>
public sealed record CanonicalEvent(
    Channel Channel,
    string EventId,
    DateTimeOffset OccurredAt,
    IReadOnlyList<CanonicalIdentifier> Identifiers,
    IReadOnlyList<string> Flags,
    SourcePosition Source)
{
    public ClickstreamAttributes? Clickstream { get; init; }

    public StoreAttributes? Store { get; init; }

    public CallcenterAttributes? Callcenter { get; init; }

    public SocialAttributes? Social { get; init; }
}

/// <summary>One identifier of an event, as <c>{"type": "email", "pseudonym": "k2:…", "previous": "k1:…"}</c>.</summary>
/// <param name="Type">The identifier's type.</param>
/// <param name="Pseudonym">Its pseudonym under the active key and normalization version.</param>
/// <param name="Previous">During a rotation window, the same identifier's pseudonym under the previous key and
/// version, when it differs: identity resolution links both to one profile and counts them as one identifier.</param>
public sealed record CanonicalIdentifier(IdentifierType Type, string Pseudonym, string? Previous = null);

/// <summary>A web or app interaction.</summary>
/// <param name="EventType"><c>page_view</c>, <c>product_view</c>, <c>add_to_cart</c>, <c>purchase</c> or <c>search</c>.</param>
/// <param name="PageCategory"><c>page_category</c> trimmed and lower-cased (at most 64 characters), else the URL path's
/// first segment when it looks like a category (<c>home</c> for the root); the query string is never read.</param>
/// <param name="DwellMs">Time on the page in milliseconds.</param>
/// <param name="Revenue">Revenue of the interaction, with <paramref name="Currency"/>.</param>
/// <param name="Currency">ISO 4217 code.</param>
/// <param name="DeviceClass"><c>mobile</c>, <c>tablet</c>, <c>desktop</c>, <c>bot</c> or <c>unknown</c>, from the user agent.</param>
public sealed record ClickstreamAttributes(
    string EventType, string? PageCategory, long? DwellMs, double? Revenue, string? Currency, string DeviceClass);

/// <summary>A point-of-sale transaction.</summary>
/// <param name="StoreId">The store.</param>
/// <param name="Total">The total as the till reported it.</param>
/// <param name="Currency">ISO 4217 code.</param>
/// <param name="DiscountPct">Discount applied to every line, 0–100.</param>
/// <param name="ItemCount">Σ quantity over all lines.</param>
/// <param name="Categories">Per product category (trimmed, lower-cased), in first-seen order: Σ quantity and
/// Σ quantity × unit_price × (1 − discount_pct/100), rounded to 4 decimals.</param>
/// <param name="Payment"><c>card</c>, <c>cash</c>, <c>mobile</c> or <c>gift</c>.</param>
public sealed record StoreAttributes(
    string StoreId, double Total, string Currency, double? DiscountPct, long ItemCount,
    IReadOnlyList<CategoryAmount> Categories, string? Payment);

/// <summary>What one product category contributed to a sale.</summary>
public sealed record CategoryAmount(string Category, long Quantity, double Amount);

/// <summary>A call-center interaction. The transcript and the caller's name never get here.</summary>
/// <param name="Reason"><c>billing</c>, <c>delivery</c>, <c>product</c>, <c>returns</c>, <c>complaint</c> or <c>other</c>.</param>
/// <param name="DurationS">Call length in seconds.</param>
/// <param name="Sentiment">−1 (negative) … 1 (positive).</param>
/// <param name="Resolved">Whether the call resolved the issue.</param>
public sealed record CallcenterAttributes(string Reason, long DurationS, double Sentiment, bool Resolved);

/// <summary>A social-media interaction. The post text never gets here.</summary>
/// <param name="Platform"><c>twitter</c>, <c>instagram</c>, <c>facebook</c>, <c>tiktok</c> or <c>reddit</c>.</param>
/// <param name="Interaction"><c>mention</c>, <c>like</c>, <c>share</c>, <c>comment</c>, <c>follow</c> or <c>review</c>.</param>
/// <param name="Sentiment">−1 … 1, when the producer scored it.</param>
/// <param name="Followers">Follower count of the account.</param>
public sealed record SocialAttributes(string Platform, string Interaction, double? Sentiment, long? Followers);
