using System.Globalization;
using Streams.Contracts.Quarantine;
using Streams.Ingest.Validation;

namespace Streams.Simulator;

/// <summary>A loyalty card several customers share; more emails than the cap must end in <c>identity_conflict</c>.</summary>
/// <param name="Type">CONTRACT §2.5 identifier type (<c>loyalty</c>).</param>
/// <param name="Value">The raw card number.</param>
/// <param name="CustomerIds">The customers using it, each with their own email on every sale with the card.</param>
/// <param name="ExpectedConflicts">
/// identity_conflict records the profiles worker must flag: every card sale of the members whose email comes after
/// the first <see cref="SimulatorOptions.MaxEmailsPerProfile"/> distinct ones, i.e. (members − cap) × sales per member,
/// whatever the processing order.
/// </param>
public sealed record SharedIdentifier(string Type, string Value, IReadOnlyList<int> CustomerIds, int ExpectedConflicts);

/// <summary>
/// Synthetic customers and their raw channel events (CONTRACT §2), with deliberately dirty records (§4) whose reason
/// codes are known. Pure and reproducible: the same options (seed and <see cref="SimulatorOptions.Now"/>) give the
/// same records in the same order, on every call of <see cref="Generate"/>.
/// </summary>
/// <remarks>
/// Every identifier a customer uses appears at least once in a record that is never made dirty together with the
/// customer's email, so each customer ends as one profile (family card holders excepted). Duplicates re-send only
/// clean records, so ingest reports exactly <c>duplicate_event</c> for them. Event ids are
/// <c>r&lt;run&gt;-&lt;topic prefix&gt;-&lt;first customer&gt;-&lt;sequence&gt;</c> and every identifier carries the run number
/// and the customer id (<see cref="SimulatorOptions.Run"/>, <see cref="SimulatorOptions.FirstCustomerId"/>), so waves
/// and runs into one pipeline never collide unless they repeat both.
/// </remarks>
public sealed class TrafficSimulator
{
    private static readonly string[] FirstNames =
        ["Ava", "Liam", "Noah", "Emma", "Olivia", "Mia", "Lucas", "Zoë", "Mateo", "Amara", "Yuki", "Chen", "Priya", "Omar", "Ingrid", "Kofi"];

    private static readonly string[] LastNames =
        ["Smith", "Garcia", "Nguyen", "Müller", "Okafor", "Kowalski", "Tanaka", "Rossi", "Haddad", "Johansson", "Patel", "Brown", "Silva", "Dubois"];

    private static readonly string[] Domains = ["example.com", "mail.example.org", "example.net", "inbox.example.co.uk"];
    /// <summary>The two-digit German area codes: Berlin, Hamburg, Frankfurt, Munich.</summary>
    private static readonly string[] AreaCodes = ["30", "40", "69", "89"];
    private static readonly string[] Platforms = ["twitter", "instagram", "facebook", "tiktok", "reddit"];
    private static readonly string[] UserAgents =
    [
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36",
        "Mozilla/5.0 (Linux; Android 15; Pixel 9) AppleWebKit/537.36 Chrome/131.0 Mobile Safari/537.36",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 Version/18.1 Safari/605.1.15",
    ];

    private static readonly Weighted<string>[] BrowseTypes =
        [new("page_view", 50), new("product_view", 25), new("add_to_cart", 10), new("search", 15)];

    private static readonly Weighted<string>[] Payments = [new("card", 6), new("cash", 2), new("mobile", 3), new("gift", 1)];
    private static readonly string[] BadCurrencies = ["usd", "BTC", "ZZZ", "EURO", "$"];

    private readonly SimulatorOptions options;
    private readonly (string Code, double Rate)[] rates;

    public TrafficSimulator(SimulatorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        this.options = options;
        rates = [.. options.Rates()];
        (Customers, SharedIdentifiers) = CreateCustomers(options);
    }

    public SimulatorOptions Options => options;

    /// <summary>Every customer, by id (index id − <see cref="SimulatorOptions.FirstCustomerId"/>).</summary>
    public IReadOnlyList<SimulatedCustomer> Customers { get; }

    /// <summary>The customer with id <paramref name="id"/>.</summary>
    public SimulatedCustomer Customer(int id) => Customers[id - options.FirstCustomerId];

    /// <summary>The family loyalty cards.</summary>
    public IReadOnlyList<SharedIdentifier> SharedIdentifiers { get; }

    /// <summary>
    /// The records, lazily: customers in chunks of <see cref="SimulatorOptions.ChunkCustomers"/>, each chunk's events in
    /// time order, each customer's consent request after their own activity.
    /// </summary>
    public IEnumerable<SimulatedRecord> Generate()
    {
        var defects = new Random(Mix(options.Seed, 0x0DEF));
        var pending = new int[rates.Length];
        var recent = new List<SimulatedRecord>(256);
        var recentNext = 0;
        var sequence = 0L;
        for (var start = 0; start < Customers.Count; start += options.ChunkCustomers)
        {
            var chunk = Customers.Skip(start).Take(options.ChunkCustomers);
            var random = new Random(Mix(options.Seed, start + 1));
            var drafts = new List<Draft>();
            foreach (var customer in chunk)
            {
                PlanCustomer(customer, random, drafts, ref sequence);
            }

            drafts.Sort((a, b) => a.OccurredAt != b.OccurredAt ? a.OccurredAt.CompareTo(b.OccurredAt) : a.Order.CompareTo(b.Order));
            foreach (var draft in drafts)
            {
                string? code = null;
                if (draft.CanDefect)
                {
                    Draw(defects, pending);
                    for (var k = 0; k < rates.Length && code is null; k++)
                    {
                        if (pending[k] > 0 && Applies(rates[k].Code, draft))
                        {
                            pending[k]--;
                            code = rates[k].Code;
                        }
                    }
                }

                var record = code is null
                    ? new SimulatedRecord(draft.Topic, draft.ToJson(), draft.EventId, draft.CustomerId, [])
                    : new SimulatedRecord(draft.Topic, Inject(code, draft, defects), draft.EventId, draft.CustomerId, [code]);
                yield return record;

                if (!record.IsClean || record.Topic == SimulatorTopics.Consent)
                {
                    continue;
                }

                if (recent.Count < 256)
                {
                    recent.Add(record);
                }
                else
                {
                    recent[recentNext] = record;
                    recentNext = (recentNext + 1) % recent.Count;
                }

                if (defects.NextDouble() < options.DuplicateEventRate)
                {
                    var original = recent[defects.Next(recent.Count)];
                    yield return original with { InjectedCodes = [ReasonCodes.DuplicateEvent] };
                }
            }
        }
    }

    /// <summary>One draw per defectable record: at most one new defect becomes pending, with its rate as chance.</summary>
    private void Draw(Random random, int[] pending)
    {
        var u = random.NextDouble();
        for (var k = 0; k < rates.Length; k++)
        {
            if (u < rates[k].Rate)
            {
                pending[k]++;
                return;
            }

            u -= rates[k].Rate;
        }
    }

    private static bool Applies(string code, Draft d) => code switch
    {
        ReasonCodes.InvalidPhone => d.Topic is SimulatorTopics.Store or SimulatorTopics.Callcenter,
        ReasonCodes.UnknownCurrency => d.Topic == SimulatorTopics.Store || (d.Topic == SimulatorTopics.Clickstream && d.Has("currency")),
        // A mismatch on an anonymous sale would not be flagged: anonymous sales are only counted.
        ReasonCodes.TotalMismatch => d.Topic == SimulatorTopics.Store && (d.Has("loyalty_id") || d.Has("email") || d.Has("phone")),
        // A blocked email is left out and flagged; beside another identifier, so the record is still used.
        ReasonCodes.IdentityConflict => d.Has("email") && (d.Topic != SimulatorTopics.Store || d.Has("loyalty_id") || d.Has("phone")),
        _ => true,
    };

    /// <summary>The raw value of <paramref name="d"/> made to carry exactly <paramref name="code"/>.</summary>
    private string Inject(string code, Draft d, Random random)
    {
        switch (code)
        {
            case ReasonCodes.MalformedJson:
            {
                var json = d.ToJson();
                return random.Next(3) switch
                {
                    0 => json[..(json.Length * 2 / 3)], // cut off mid-record
                    1 => json.Replace("\":", "\" ", StringComparison.Ordinal), // lost colons
                    _ => json[..^1] + ",}", // trailing comma
                };
            }

            case ReasonCodes.OversizedRecord:
                d.Set(d.Topic switch
                {
                    SimulatorTopics.Callcenter => "transcript",
                    SimulatorTopics.Social => "text",
                    _ => "debug_payload",
                }, new string('x', options.MaxRecordBytes + 1));
                break;
            case ReasonCodes.SchemaViolation:
                switch (d.Topic)
                {
                    case SimulatorTopics.Clickstream: d.Set("event_type", "scroll"); break;
                    case SimulatorTopics.Store: d.Set("payment", "crypto"); break;
                    case SimulatorTopics.Callcenter: d.Set("reason", "weather"); break;
                    default: d.Set("interaction", "poke"); break;
                }

                break;
            case ReasonCodes.InvalidEmail:
            {
                var email = Customer(d.CustomerId!.Value).Email;
                d.Set("email", random.Next(4) switch
                {
                    0 => email[..email.IndexOf('.', email.IndexOf('@'))], // jane@example: a domain without a dot
                    1 => email.Replace("@", " at ", StringComparison.Ordinal),
                    2 => email.Replace("@", "@@", StringComparison.Ordinal),
                    _ => "@" + email[(email.IndexOf('@') + 1)..],
                });
                break;
            }

            case ReasonCodes.IdentityConflict:
                d.Set("email", options.BlockedEmail);
                break;
            case ReasonCodes.InvalidPhone:
                d.Set("phone", random.Next(3) switch
                {
                    0 => "555-01",
                    1 => "1-800-FLOWERS",
                    _ => "+0 " + random.Next(100, 999).ToString(CultureInfo.InvariantCulture) + " 555 0100",
                });
                break;
            case ReasonCodes.FutureTimestamp:
                d.Set("occurred_at", Draft.Timestamp(options.Now + TimeSpan.FromMinutes(10 + random.Next(0, 3 * 24 * 60))));
                break;
            case ReasonCodes.OutOfRange:
                switch (d.Topic)
                {
                    case SimulatorTopics.Clickstream: d.Set("dwell_ms", -1 - (long)random.Next(1000)); break;
                    case SimulatorTopics.Store: d.Set("discount_pct", 101 + random.Next(100)); break;
                    case SimulatorTopics.Callcenter: d.Set("sentiment", 1.5); break;
                    default: d.Set("sentiment", -3.0); break;
                }

                break;
            case ReasonCodes.UnknownCurrency:
                d.Set("currency", BadCurrencies[random.Next(BadCurrencies.Length)]);
                break;
            case ReasonCodes.TotalMismatch:
            {
                var total = (double)d.Get("total")!;
                // Off by 10 % plus one unit: beyond both 1 % and 0.01.
                d.Set("total", Math.Round((total * 1.1) + 1, 2));
                break;
            }

            default:
                throw new InvalidOperationException($"Cannot inject {code}.");
        }

        return d.ToJson();
    }

    private void PlanCustomer(SimulatedCustomer c, Random random, List<Draft> drafts, ref long sequence)
    {
        var n = options.EventsPerCustomer;
        var span = options.History - TimeSpan.FromHours(2);
        var from = options.Now - options.History;
        var times = new List<DateTimeOffset>(n);
        for (var i = 0; i < n; i++)
        {
            times.Add(from + TimeSpan.FromMilliseconds(Math.Floor(random.NextDouble() * span.TotalMilliseconds)));
        }

        times.Sort();
        var cardSales = new HashSet<int>();
        if (c.SharesLoyaltyCard)
        {
            while (cardSales.Count < options.FamilyCardEventsPerMember)
            {
                cardSales.Add(random.Next(n));
            }
        }

        var state = new CustomerState(c);
        var mix = c.Persona.Channels;
        Weighted<string>[] channels =
        [
            new(SimulatorTopics.Clickstream, mix.Clickstream), new(SimulatorTopics.Store, mix.Store),
            new(SimulatorTopics.Callcenter, mix.Callcenter), new(SimulatorTopics.Social, mix.Social),
        ];
        var mine = new List<Draft>(n);
        for (var i = 0; i < n; i++)
        {
            var topic = cardSales.Contains(i) ? SimulatorTopics.Store : Pick(random, channels);
            var d = new Draft(topic, EventId(topic, sequence), c.Id, times[i], sequence++);
            switch (topic)
            {
                case SimulatorTopics.Clickstream: Clickstream(d, c, state, random); break;
                case SimulatorTopics.Store: Store(d, c, state, random, familyCardSale: cardSales.Contains(i)); break;
                case SimulatorTopics.Callcenter: Callcenter(d, c, state, random); break;
                default: Social(d, c, state, random); break;
            }

            mine.Add(d);
        }

        // A device that never logged in would stay a profile of its own: its last visit is the login.
        foreach (var device in c.DeviceIds.Where(v => state.UsedDevices.Contains(v) && !state.LinkedDevices.Contains(v)))
        {
            var last = mine.Last(d => d.Topic == SimulatorTopics.Clickstream && (string?)d.Get("anonymous_id") == device);
            last.Set("email", c.Email);
            last.CanDefect = false;
        }

        drafts.AddRange(mine);

        if (!c.SharesLoyaltyCard && random.NextDouble() < options.ConsentRequestRate)
        {
            Consent(c, state, random, times[^1], drafts, ref sequence);
        }
    }

    private void Consent(SimulatedCustomer c, CustomerState state, Random random, DateTimeOffset after, List<Draft> drafts, ref long sequence)
    {
        var identifiers = new List<(string Type, string Value)> { ("email", c.Email) };
        if (state.UsedPhone)
        {
            identifiers.Add(("phone", c.Phone));
        }

        if (state.UsedLoyalty && c.LoyaltyId is not null)
        {
            identifiers.Add(("loyalty", c.LoyaltyId));
        }

        if (state.UsedSocial)
        {
            identifiers.Add(("social", c.Social.ToString()));
        }

        identifiers.AddRange(state.UsedDevices.Order(StringComparer.Ordinal).Select(v => ("device", v)));
        var (type, value) = identifiers[random.Next(identifiers.Count)];
        var action = Pick<string>(random, [new("opt_out", options.OptOutWeight), new("opt_in", options.OptInWeight), new("erase", options.EraseWeight)]);
        var at = after + TimeSpan.FromMinutes(30);
        var actions = action == "opt_in" ? new[] { "opt_out", "opt_in" } : [action];
        foreach (var a in actions)
        {
            var d = new Draft(SimulatorTopics.Consent, EventId(SimulatorTopics.Consent, sequence), c.Id, at, sequence++) { CanDefect = false };
            d.Set("identifier_type", type);
            d.Set("identifier", value);
            d.Set("action", a);
            drafts.Add(d);
            at += TimeSpan.FromMinutes(10);
        }
    }

    private static void Clickstream(Draft d, SimulatedCustomer c, CustomerState s, Random random)
    {
        var device = c.DeviceIds[random.NextDouble() < 0.6 ? 0 : random.Next(c.DeviceIds.Count)];
        s.UsedDevices.Add(device);
        bool withEmail;
        if (s.LoggedIn.Contains(device))
        {
            withEmail = random.NextDouble() < c.Persona.LoginProbability;
        }
        else
        {
            // Browsing anonymously until the customer logs in on this device.
            withEmail = random.NextDouble() < 0.25;
            if (withEmail)
            {
                s.LoggedIn.Add(device);
            }
        }

        d.Set("anonymous_id", device);
        if (withEmail)
        {
            d.Set("email", c.Email);
            if (s.LinkedDevices.Add(device))
            {
                d.CanDefect = false;
            }
        }

        var purchase = random.NextDouble() < c.Persona.PurchaseProbability;
        d.Set("event_type", purchase ? "purchase" : Pick(random, BrowseTypes));
        var category = Pick(random, c.Persona.Categories);
        d.Set("page_category", category);
        d.Set("url", $"https://shop.example.com/{category}/p{random.Next(1, 5000)}?utm_source=newsletter&uid={c.Id}");
        d.Set("dwell_ms", (long)random.Next(200, 120_000));
        if (purchase)
        {
            d.Set("revenue", Money(c.Persona.MeanUnitPrice * (0.5 + (random.NextDouble() * 2))));
            d.Set("currency", s.Currency);
        }

        d.Set("ip", $"203.0.113.{random.Next(1, 255)}");
        d.Set("user_agent", UserAgents[random.Next(UserAgents.Length)]);
    }

    private static void Store(Draft d, SimulatedCustomer c, CustomerState s, Random random, bool familyCardSale)
    {
        d.Set("store_id", $"store-{1 + (c.Id * 7 % 40):D3}");
        if (familyCardSale)
        {
            d.Set("loyalty_id", c.LoyaltyId!);
            d.Set("email", c.Email);
            d.CanDefect = false;
            s.UsedLoyalty = true;
        }
        else if (!c.SharesLoyaltyCard)
        {
            var identified = false;
            if (c.LoyaltyId is not null && random.NextDouble() < 0.9)
            {
                d.Set("loyalty_id", random.NextDouble() < 0.1 ? c.LoyaltyId.ToLowerInvariant() + " " : c.LoyaltyId);
                identified = true;
                if (!s.UsedLoyalty)
                {
                    // Enrolment: the card is registered to the email.
                    s.UsedLoyalty = true;
                    d.Set("email", c.Email);
                    d.CanDefect = false;
                }
            }

            if (!d.Has("email") && random.NextDouble() < 0.15)
            {
                d.Set("email", random.NextDouble() < 0.5 ? Capitalized(c.Email) : c.Email);
                identified = true;
            }

            if (random.NextDouble() < 0.1)
            {
                d.Set("phone", PhoneVariant(c.Phone, random));
                if (!d.Has("email"))
                {
                    // Phone alone at the till would be unlinked if the customer never calls: always with the email.
                    d.Set("email", c.Email);
                }

                if (!s.UsedPhone)
                {
                    d.CanDefect = false;
                }

                s.UsedPhone = true;
                identified = true;
            }

            if (identified && random.NextDouble() < 0.3)
            {
                d.Set("customer_name", c.Name);
            }
        }

        var p = c.Persona;
        var lines = new List<Line>();
        var count = random.Next(1, p.MaxBasketLines + 1);
        for (var i = 0; i < count; i++)
        {
            var category = Pick(random, p.Categories);
            lines.Add(new Line(
                $"{category[..3].ToUpperInvariant()}-{random.Next(10000, 99999)}",
                category,
                random.NextDouble() < 0.8 ? 1 : random.Next(2, 6),
                Money(p.MeanUnitPrice * (0.2 + (random.NextDouble() * 1.6)))));
        }

        double? discount = random.NextDouble() < p.DiscountProbability
            ? Math.Clamp(Math.Round(p.MeanDiscountPct * (0.5 + random.NextDouble())), 1, 90)
            : null;
        var factor = 1 - ((discount ?? 0) / 100);
        var total = lines.Sum(l => l.Quantity * l.UnitPrice * factor);
        d.Set("total", Math.Round(total, 2));
        d.Set("currency", s.Currency);
        if (discount is { } pct)
        {
            d.Set("discount_pct", pct);
        }

        d.Set("items", (IReadOnlyList<Line>)lines);
        d.Set("payment", Pick(random, Payments));
    }

    private static void Callcenter(Draft d, SimulatedCustomer c, CustomerState s, Random random)
    {
        d.Set("phone", PhoneVariant(c.Phone, random));
        if (!s.UsedPhone || random.NextDouble() < 0.3)
        {
            d.Set("email", c.Email);
            if (!s.UsedPhone)
            {
                d.CanDefect = false;
            }
        }

        s.UsedPhone = true;
        if (random.NextDouble() < 0.7)
        {
            d.Set("customer_name", c.Name);
        }

        var p = c.Persona;
        var reason = Pick(random, p.CallReasons);
        d.Set("reason", reason);
        d.Set("duration_s", (long)random.Next(30, reason == "complaint" ? 2400 : 900));
        d.Set("sentiment", Sentiment(p.CallSentiment, random));
        d.Set("resolved", random.NextDouble() < p.ResolvedProbability);
        d.Set("agent_id", $"agent-{random.Next(1, 80):D3}");
        d.Set("transcript", $"Customer {c.Name} called about {reason}; order reference {random.Next(100000, 999999)}.");
    }

    private static void Social(Draft d, SimulatedCustomer c, CustomerState s, Random random)
    {
        d.Set("platform", c.Social.Platform);
        d.Set("handle", random.NextDouble() < 0.5 ? "@" + c.Social.Handle : c.Social.Handle);
        if (!s.UsedSocial || random.NextDouble() < 0.05)
        {
            // The first interaction comes with a contest entry or account link that gives the email.
            d.Set("email", c.Email);
            if (!s.UsedSocial)
            {
                d.CanDefect = false;
            }
        }

        s.UsedSocial = true;
        var p = c.Persona;
        var interaction = Pick(random, p.SocialInteractions);
        d.Set("interaction", interaction);
        if (random.NextDouble() < 0.8)
        {
            d.Set("sentiment", Sentiment(p.SocialSentiment, random));
        }

        d.Set("followers", (long)Math.Max(0, Math.Round(p.MeanFollowers * (0.5 + random.NextDouble()))));
        if (interaction is "comment" or "review" or "mention")
        {
            d.Set("text", p.SocialSentiment < 0 ? "Still waiting for my refund, not impressed." : "Loving my new order from the shop!");
        }
    }

    private static (IReadOnlyList<SimulatedCustomer>, IReadOnlyList<SharedIdentifier>) CreateCustomers(SimulatorOptions o)
    {
        var random = new Random(Mix(o.Seed, 0));
        var weights = o.Weights;
        var personas = o.Personas.Select((p, i) => new Weighted<Persona>(p, weights[i])).ToArray();
        var familyMembers = o.SharedLoyaltyFamilies * o.FamilySize;
        var customers = new List<SimulatedCustomer>(o.Customers);
        var run = o.Run.ToString("D4", CultureInfo.InvariantCulture);
        for (var id = o.FirstCustomerId; id < o.FirstCustomerId + o.Customers; id++)
        {
            var persona = Pick(random, personas);
            var first = FirstNames[random.Next(FirstNames.Length)];
            var last = LastNames[random.Next(LastNames.Length)];
            var devices = Enumerable.Range(0, random.Next(1, 4))
                .Select(_ => $"dev-{run}-{random.NextInt64():x16}")
                .ToArray();
            var number = id.ToString(CultureInfo.InvariantCulture);
            var local = Ascii(first).ToLowerInvariant() + "." + Ascii(last).ToLowerInvariant() + number + ".r" + run;
            var email = local + "@" + Domains[random.Next(Domains.Length)];
            // +49, a German area code, the run and the customer: 15 digits, the most E.164 allows. German, because the run
            // and the customer need 11 digits and a North American number has 10: one libphonenumber finds possible.
            var phone = "+49" + AreaCodes[random.Next(AreaCodes.Length)] + run + id.ToString("D7", CultureInfo.InvariantCulture);
            // A family is known by its first member's id, unique across waves like the customers.
            int? family = id - o.FirstCustomerId < familyMembers ? id - ((id - o.FirstCustomerId) % o.FamilySize) : null;
            var loyalty = family is { } f
                ? "FAM-" + run + "-" + f.ToString("D7", CultureInfo.InvariantCulture)
                : random.NextDouble() < persona.LoyaltyCardProbability ? "LOY-" + run + "-" + id.ToString("D8", CultureInfo.InvariantCulture) : null;
            var social = new SocialHandle(Platforms[random.Next(Platforms.Length)],
                Ascii(first).ToLowerInvariant() + "_" + Ascii(last).ToLowerInvariant() + number + "_r" + run);
            customers.Add(new SimulatedCustomer(id, persona, first + " " + last, devices, email, phone, loyalty, social, family));
        }

        var shared = customers.Where(c => c.FamilyId is not null)
            .GroupBy(c => c.LoyaltyId!)
            .Select(g => new SharedIdentifier(
                "loyalty", g.Key, [.. g.Select(c => c.Id)],
                Math.Max(0, g.Count() - o.MaxEmailsPerProfile) * o.FamilyCardEventsPerMember))
            .ToList();
        return (customers, shared);
    }

    private string EventId(string topic, long sequence) => string.Create(CultureInfo.InvariantCulture,
        $"r{options.Run:D4}-{topic[..3]}-{options.FirstCustomerId:D7}-{sequence:D9}");

    private static int Mix(int seed, int salt) => unchecked((seed * 1_000_003) ^ (salt * 7_919) ^ 0x5A17);

    private static T Pick<T>(Random random, IReadOnlyList<Weighted<T>> items)
    {
        var total = items.Sum(i => i.Weight);
        var u = random.NextDouble() * total;
        foreach (var item in items)
        {
            if (u < item.Weight)
            {
                return item.Value;
            }

            u -= item.Weight;
        }

        return items[^1].Value;
    }

    private static double Money(double value) => Math.Max(0.5, Math.Round(value, 2));

    private static double Sentiment(double mean, Random random) =>
        Math.Round(Math.Clamp(mean + ((random.NextDouble() - 0.5) * 0.8), -1, 1), 2);

    private static string Capitalized(string email) => char.ToUpperInvariant(email[0]) + email[1..];

    /// <summary>The same number as a person would type it; all normalize to the same E.164 value (default country 1).</summary>
    private static string PhoneVariant(string e164, Random random)
    {
        var national = e164[3..]; // +49, then a two-digit area code and the subscriber digits
        return random.Next(4) switch
        {
            0 => e164,
            1 => $"+49 ({national[..2]}) {national[2..6]}-{national[6..]}",
            2 => $"+49 (0){national[..2]} {national[2..6]} {national[6..]}",
            _ => $"0049{national}",
        };
    }

    private static string Ascii(string name) => name.Replace("ë", "e", StringComparison.Ordinal).Replace("ü", "ue", StringComparison.Ordinal);

    private sealed class CustomerState(SimulatedCustomer customer)
    {
        public HashSet<string> UsedDevices { get; } = new(StringComparer.Ordinal);
        public HashSet<string> LoggedIn { get; } = new(StringComparer.Ordinal);
        public HashSet<string> LinkedDevices { get; } = new(StringComparer.Ordinal);
        public bool UsedPhone { get; set; }
        public bool UsedLoyalty { get; set; }
        public bool UsedSocial { get; set; }
        public string Currency { get; } = customer.Id % 10 == 0 ? "EUR" : customer.Id % 17 == 0 ? "GBP" : "USD";
    }
}
