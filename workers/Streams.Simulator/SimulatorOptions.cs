using Streams.Contracts.Quarantine;
using Streams.Ingest.Validation;

namespace Streams.Simulator;

/// <summary>
/// What to simulate. Rates are per generated event record (each in [0, 1], their sum at most 1): a record carries at
/// most one injected defect. <see cref="Now"/> must be set: every timestamp is relative to it, so a seed and a clock
/// give the same output byte for byte.
/// </summary>
public sealed class SimulatorOptions
{
    public int Seed { get; set; } = 1;

    /// <summary>
    /// Run number (0–<see cref="MaxRun"/>), part of every event id and identifier, so runs into one pipeline do not
    /// collide. Hosting picks a random one when it is 0.
    /// </summary>
    public int Run { get; set; }

    /// <summary>Id of the first customer; waves of one run continue the numbering so identifiers stay unique.</summary>
    public int FirstCustomerId { get; set; } = 1;

    /// <summary>The clock: events occur before it; <c>future_timestamp</c> records lie more than 5 minutes after it.</summary>
    public DateTimeOffset Now { get; set; }

    public int Customers { get; set; } = 1000;

    /// <summary>Channel events per customer (consent requests and duplicates come on top).</summary>
    public int EventsPerCustomer { get; set; } = 20;

    /// <summary>How far back the customers' activity reaches before <see cref="Now"/>.</summary>
    public TimeSpan History { get; set; } = TimeSpan.FromDays(30);

    /// <summary>
    /// The personas customers are drawn from: <c>main</c> (<see cref="Persona.All"/>) or <c>second</c>
    /// (<see cref="Persona.SecondMix"/>, with <see cref="Persona.SecondMixWeights"/> unless weights are given).
    /// </summary>
    public string PersonaMix { get; set; } = MainMix;

    /// <summary>Relative weights of <see cref="Personas"/>, in that order; null for the mix's own weights.</summary>
    public IReadOnlyList<double>? PersonaWeights { get; set; }

    public const string MainMix = "main";
    public const string SecondMix = "second";

    /// <summary>The personas of <see cref="PersonaMix"/>.</summary>
    public IReadOnlyList<Persona> Personas => PersonaMix == SecondMix ? Persona.SecondMix : Persona.All;

    /// <summary>The weights in use: <see cref="PersonaWeights"/>, else the mix's own (equal for the main mix).</summary>
    public IReadOnlyList<double> Weights =>
        PersonaWeights ?? (PersonaMix == SecondMix ? Persona.SecondMixWeights : [.. Persona.All.Select(_ => 1.0)]);

    public double MalformedJsonRate { get; set; } = 0.003;
    public double OversizedRecordRate { get; set; } = 0.0002;
    public double SchemaViolationRate { get; set; } = 0.003;
    public double InvalidEmailRate { get; set; } = 0.003;
    public double InvalidPhoneRate { get; set; } = 0.003;
    public double FutureTimestampRate { get; set; } = 0.003;
    public double OutOfRangeRate { get; set; } = 0.003;
    public double UnknownCurrencyRate { get; set; } = 0.003;
    public double TotalMismatchRate { get; set; } = 0.003;

    /// <summary>Share of records whose email is replaced by <see cref="BlockedEmail"/> (<c>identity_conflict</c> in ingest); 0 by default.</summary>
    public double BlockedEmailRate { get; set; }

    /// <summary>A shared test address the pipeline blocks: its <c>Identity:Blocked:Values:email:0</c> when that is set.</summary>
    public string BlockedEmail { get; set; } = "test@example.com";

    /// <summary>Chance, after each clean event record, that an earlier clean record is re-sent with its exact value.</summary>
    public double DuplicateEventRate { get; set; } = 0.005;

    /// <summary>Share of customers (outside families) who send one consent request after their activity.</summary>
    public double ConsentRequestRate { get; set; } = 0.02;

    /// <summary>Relative weights of opt_out, opt_in (sent after an opt_out of the same identifier) and erase.</summary>
    public double OptOutWeight { get; set; } = 3;
    public double OptInWeight { get; set; } = 1;
    public double EraseWeight { get; set; } = 1;

    /// <summary>Families sharing one loyalty card; each has <see cref="FamilySize"/> members with their own emails.</summary>
    public int SharedLoyaltyFamilies { get; set; } = 1;

    /// <summary>Members per family; above <see cref="MaxEmailsPerProfile"/> the card must trigger <c>identity_conflict</c>.</summary>
    public int FamilySize { get; set; } = 6;

    /// <summary>Till sales per family member with the family card and the member's email (never made dirty).</summary>
    public int FamilyCardEventsPerMember { get; set; } = 2;

    /// <summary><c>Identity:MaxPerType:email</c> of the pipeline under test, for the expected conflict count.</summary>
    public int MaxEmailsPerProfile { get; set; } = 5;

    /// <summary><c>Ingest:MaxRecordBytes</c>: an oversized record is made larger than this.</summary>
    public int MaxRecordBytes { get; set; } = 1024 * 1024;

    /// <summary>Customers generated together; events are in time order within a chunk. Bounds memory.</summary>
    public int ChunkCustomers { get; set; } = 500;

    /// <summary>Largest <see cref="Run"/>: four digits of every phone number.</summary>
    public const int MaxRun = 9999;

    /// <summary>Largest customer id: seven digits of every phone number.</summary>
    public const int MaxCustomerId = 9_999_999;

    /// <summary>A copy to change for one wave.</summary>
    public SimulatorOptions Clone() => (SimulatorOptions)MemberwiseClone();

    /// <summary>Throws <see cref="ArgumentException"/> when the options cannot be simulated.</summary>
    public void Validate()
    {
        if (Now == default)
        {
            throw new ArgumentException("SimulatorOptions.Now must be set (the clock every timestamp is relative to).");
        }

        Require(Customers >= 1, nameof(Customers), "at least 1");
        Require(Run is >= 0 and <= MaxRun, nameof(Run), $"0 to {MaxRun}");
        Require(FirstCustomerId >= 1 && (long)FirstCustomerId + Customers - 1 <= MaxCustomerId, nameof(FirstCustomerId),
            $"at least 1, with every customer id at most {MaxCustomerId}");
        Require(EventsPerCustomer is >= 1 and <= 100_000, nameof(EventsPerCustomer), "1 to 100000");
        Require(History > TimeSpan.FromHours(2), nameof(History), "more than 2 hours");
        Require(ChunkCustomers >= 1, nameof(ChunkCustomers), "at least 1");
        Require(MaxRecordBytes >= 1, nameof(MaxRecordBytes), "at least 1");
        Require(BlockedEmailRate == 0 || !string.IsNullOrWhiteSpace(BlockedEmail), nameof(BlockedEmail), "an address when BlockedEmailRate is set");
        Require(FamilySize >= 2, nameof(FamilySize), "at least 2");
        Require(SharedLoyaltyFamilies >= 0 && SharedLoyaltyFamilies * FamilySize <= Customers, nameof(SharedLoyaltyFamilies), "0 or more, with all members among the customers");
        Require(FamilyCardEventsPerMember >= 1 && FamilyCardEventsPerMember <= EventsPerCustomer, nameof(FamilyCardEventsPerMember), "1 to EventsPerCustomer");
        Require(MaxEmailsPerProfile >= 1, nameof(MaxEmailsPerProfile), "at least 1");
        Require(OptOutWeight >= 0 && OptInWeight >= 0 && EraseWeight >= 0 && OptOutWeight + OptInWeight + EraseWeight > 0, "consent weights", "non-negative with a positive sum");
        Require(PersonaMix is MainMix or SecondMix, nameof(PersonaMix), $"{MainMix} or {SecondMix}");
        if (PersonaWeights is not null)
        {
            Require(PersonaWeights.Count == Personas.Count && PersonaWeights.All(w => w >= 0) && PersonaWeights.Sum() > 0, nameof(PersonaWeights), $"{Personas.Count} non-negative weights with a positive sum");
        }

        (string Name, double Rate)[] rates =
        [
            (nameof(MalformedJsonRate), MalformedJsonRate), (nameof(OversizedRecordRate), OversizedRecordRate),
            (nameof(SchemaViolationRate), SchemaViolationRate), (nameof(InvalidEmailRate), InvalidEmailRate),
            (nameof(InvalidPhoneRate), InvalidPhoneRate), (nameof(FutureTimestampRate), FutureTimestampRate),
            (nameof(OutOfRangeRate), OutOfRangeRate), (nameof(UnknownCurrencyRate), UnknownCurrencyRate),
            (nameof(TotalMismatchRate), TotalMismatchRate), (nameof(DuplicateEventRate), DuplicateEventRate),
            (nameof(ConsentRequestRate), ConsentRequestRate), (nameof(BlockedEmailRate), BlockedEmailRate),
        ];
        foreach (var (name, rate) in rates)
        {
            Require(rate is >= 0 and <= 1, name, "a rate in [0, 1]");
        }

        Require(Rates().Sum(r => r.Rate) <= 1, "defect rates", "summing to at most 1");
    }

    /// <summary>The per-record defect rates by code, in <see cref="InjectedCodes.PerRecord"/> order.</summary>
    public IEnumerable<(string Code, double Rate)> Rates()
    {
        yield return (ReasonCodes.MalformedJson, MalformedJsonRate);
        yield return (ReasonCodes.OversizedRecord, OversizedRecordRate);
        yield return (ReasonCodes.SchemaViolation, SchemaViolationRate);
        yield return (ReasonCodes.InvalidEmail, InvalidEmailRate);
        yield return (ReasonCodes.InvalidPhone, InvalidPhoneRate);
        yield return (ReasonCodes.FutureTimestamp, FutureTimestampRate);
        yield return (ReasonCodes.OutOfRange, OutOfRangeRate);
        yield return (ReasonCodes.UnknownCurrency, UnknownCurrencyRate);
        yield return (ReasonCodes.TotalMismatch, TotalMismatchRate);
        yield return (ReasonCodes.IdentityConflict, BlockedEmailRate);
    }

    private static void Require(bool ok, string name, string what)
    {
        if (!ok)
        {
            throw new ArgumentException($"SimulatorOptions.{name} must be {what}.");
        }
    }
}
