namespace Streams.Simulator;

/// <summary>A value and its relative weight in a random choice.</summary>
public readonly record struct Weighted<T>(T Value, double Weight);

/// <summary>How a persona's events spread over the four event channels (relative weights).</summary>
public sealed record ChannelMix(double Clickstream, double Store, double Callcenter, double Social);

/// <summary>
/// A kind of customer and the parameters of its behaviour. Weights are relative; probabilities are in [0, 1];
/// sentiments are means in [−1, 1].
/// </summary>
/// <param name="Id">Stable name written to the ground truth (<c>bargain_hunter</c>, …).</param>
/// <param name="Channels">Where the persona's events happen.</param>
/// <param name="LoginProbability">Chance that a clickstream event on a device already logged in carries the email.</param>
/// <param name="PurchaseProbability">Share of clickstream events that are purchases.</param>
/// <param name="MeanUnitPrice">Typical unit price of what the persona buys.</param>
/// <param name="MaxBasketLines">Most lines on one receipt.</param>
/// <param name="DiscountProbability">Chance that a sale carries a discount.</param>
/// <param name="MeanDiscountPct">Typical discount when there is one (0–100).</param>
/// <param name="LoyaltyCardProbability">Chance that the customer holds a loyalty card.</param>
/// <param name="CallReasons">Why the persona calls (CONTRACT §2.3 reasons).</param>
/// <param name="CallSentiment">Mean sentiment of calls.</param>
/// <param name="ResolvedProbability">Chance that a call is resolved.</param>
/// <param name="SocialInteractions">What the persona does on social media (CONTRACT §2.4 interactions).</param>
/// <param name="SocialSentiment">Mean sentiment of social activity.</param>
/// <param name="MeanFollowers">Typical follower count.</param>
/// <param name="Categories">Product categories the persona browses and buys.</param>
public sealed record Persona(
    string Id,
    ChannelMix Channels,
    double LoginProbability,
    double PurchaseProbability,
    double MeanUnitPrice,
    int MaxBasketLines,
    double DiscountProbability,
    double MeanDiscountPct,
    double LoyaltyCardProbability,
    IReadOnlyList<Weighted<string>> CallReasons,
    double CallSentiment,
    double ResolvedProbability,
    IReadOnlyList<Weighted<string>> SocialInteractions,
    double SocialSentiment,
    int MeanFollowers,
    IReadOnlyList<Weighted<string>> Categories)
{
    public static Persona BargainHunter { get; } = new(
        "bargain_hunter", new ChannelMix(0.45, 0.40, 0.05, 0.10),
        LoginProbability: 0.7, PurchaseProbability: 0.12, MeanUnitPrice: 14, MaxBasketLines: 6,
        DiscountProbability: 0.85, MeanDiscountPct: 30, LoyaltyCardProbability: 0.8,
        CallReasons: [new("billing", 3), new("returns", 2), new("delivery", 1), new("other", 1)],
        CallSentiment: 0.0, ResolvedProbability: 0.8,
        SocialInteractions: [new("like", 3), new("share", 2), new("comment", 1), new("follow", 1)],
        SocialSentiment: 0.2, MeanFollowers: 150,
        Categories: [new("grocery", 4), new("household", 3), new("clothing", 2), new("outlet", 3)]);

    public static Persona LoyalInStoreShopper { get; } = new(
        "loyal_in_store", new ChannelMix(0.10, 0.75, 0.05, 0.10),
        LoginProbability: 0.5, PurchaseProbability: 0.05, MeanUnitPrice: 28, MaxBasketLines: 10,
        DiscountProbability: 0.2, MeanDiscountPct: 10, LoyaltyCardProbability: 0.97,
        CallReasons: [new("product", 2), new("delivery", 1), new("other", 1)],
        CallSentiment: 0.3, ResolvedProbability: 0.9,
        SocialInteractions: [new("like", 2), new("review", 1)],
        SocialSentiment: 0.4, MeanFollowers: 90,
        Categories: [new("grocery", 5), new("home", 2), new("garden", 2), new("beauty", 1)]);

    public static Persona OnlineBrowser { get; } = new(
        "online_browser", new ChannelMix(0.85, 0.03, 0.04, 0.08),
        LoginProbability: 0.6, PurchaseProbability: 0.03, MeanUnitPrice: 60, MaxBasketLines: 3,
        DiscountProbability: 0.1, MeanDiscountPct: 15, LoyaltyCardProbability: 0.15,
        CallReasons: [new("delivery", 3), new("product", 1), new("other", 1)],
        CallSentiment: 0.1, ResolvedProbability: 0.85,
        SocialInteractions: [new("like", 3), new("follow", 1)],
        SocialSentiment: 0.1, MeanFollowers: 300,
        Categories: [new("electronics", 5), new("books", 3), new("clothing", 2), new("toys", 1)]);

    public static Persona FrequentComplainer { get; } = new(
        "frequent_complainer", new ChannelMix(0.20, 0.20, 0.45, 0.15),
        LoginProbability: 0.8, PurchaseProbability: 0.08, MeanUnitPrice: 40, MaxBasketLines: 4,
        DiscountProbability: 0.3, MeanDiscountPct: 15, LoyaltyCardProbability: 0.5,
        CallReasons: [new("complaint", 5), new("returns", 3), new("billing", 2), new("delivery", 2)],
        CallSentiment: -0.6, ResolvedProbability: 0.45,
        SocialInteractions: [new("comment", 3), new("mention", 3), new("review", 2)],
        SocialSentiment: -0.5, MeanFollowers: 120,
        Categories: [new("electronics", 3), new("home", 2), new("clothing", 2)]);

    public static Persona SocialAdvocate { get; } = new(
        "social_advocate", new ChannelMix(0.25, 0.15, 0.02, 0.58),
        LoginProbability: 0.75, PurchaseProbability: 0.07, MeanUnitPrice: 45, MaxBasketLines: 4,
        DiscountProbability: 0.15, MeanDiscountPct: 10, LoyaltyCardProbability: 0.4,
        CallReasons: [new("product", 2), new("other", 1)],
        CallSentiment: 0.5, ResolvedProbability: 0.95,
        SocialInteractions: [new("share", 4), new("review", 3), new("mention", 3), new("comment", 2)],
        SocialSentiment: 0.7, MeanFollowers: 5000,
        Categories: [new("beauty", 4), new("clothing", 3), new("electronics", 1)]);

    /// <summary>
    /// Not in the main mix: a persona of the second world (<see cref="SecondMix"/>), so segment quality is not tuned to
    /// one set of types. Rarely online, big baskets of premium goods, no discounts, calm calls.
    /// </summary>
    public static Persona PremiumShopper { get; } = new(
        "premium_shopper", new ChannelMix(0.30, 0.55, 0.10, 0.05),
        LoginProbability: 0.9, PurchaseProbability: 0.25, MeanUnitPrice: 180, MaxBasketLines: 3,
        DiscountProbability: 0.02, MeanDiscountPct: 5, LoyaltyCardProbability: 0.9,
        CallReasons: [new("product", 3), new("delivery", 2)],
        CallSentiment: 0.4, ResolvedProbability: 0.95,
        SocialInteractions: [new("like", 1), new("follow", 1)],
        SocialSentiment: 0.3, MeanFollowers: 600,
        Categories: [new("jewellery", 4), new("home", 2), new("electronics", 2), new("wine", 2)]);

    /// <summary>The main mix: every persona, in a fixed order (the simulator draws from it by <see cref="SimulatorOptions.Weights"/>).</summary>
    public static IReadOnlyList<Persona> All { get; } =
        [BargainHunter, LoyalInStoreShopper, OnlineBrowser, FrequentComplainer, SocialAdvocate];

    /// <summary>The second mix: the main personas plus <see cref="PremiumShopper"/>, drawn with <see cref="SecondMixWeights"/>.</summary>
    public static IReadOnlyList<Persona> SecondMix { get; } = [.. All, PremiumShopper];

    /// <summary>Unequal weights of <see cref="SecondMix"/>: bargain hunters dominate, premium shoppers and complainers are few.</summary>
    public static IReadOnlyList<double> SecondMixWeights { get; } = [3, 2, 2, 1, 1.5, 1];
}
