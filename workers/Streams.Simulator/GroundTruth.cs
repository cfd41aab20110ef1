using System.Text.Json;
using System.Text.Json.Serialization;
using Streams.Contracts.Identifiers;
using Streams.Contracts.Quarantine;
using Streams.Ingest.Validation;

namespace Streams.Simulator;

/// <summary>An identifier as the customer used it (CONTRACT §2.5 type; raw value, social as <c>platform:handle</c>).</summary>
public sealed record IdentifierTruth(string Type, string Value);

/// <summary>Who a simulated customer is and which identifiers reached the pipeline in a usable record.</summary>
public sealed record CustomerTruth(int CustomerId, string Persona, string Name, int? FamilyId, IReadOnlyList<IdentifierTruth> Identifiers);

/// <summary>A record made dirty on purpose and the codes ingest must report for it.</summary>
public sealed record InjectedRecordTruth(long Index, string Topic, string EventId, int? CustomerId, IReadOnlyList<string> Codes);

/// <summary>A consent request the simulator sent.</summary>
public sealed record ConsentTruth(long Index, string EventId, int CustomerId, string IdentifierType, string Action);

/// <summary>What the pipeline's output is scored against.</summary>
/// <param name="Seed">The seed of the first wave (wave w uses Seed + w).</param>
/// <param name="Run">The run number in every event id and identifier.</param>
/// <param name="Waves">Waves of customers this truth covers.</param>
/// <param name="Now">The clock of the first wave.</param>
public sealed record GroundTruth(
    int Seed,
    int Run,
    int Waves,
    DateTimeOffset Now,
    long Records,
    IReadOnlyDictionary<string, long> RecordsPerTopic,
    IReadOnlyDictionary<string, long> InjectedPerCode,
    IReadOnlyList<CustomerTruth> Customers,
    IReadOnlyList<SharedIdentifier> SharedIdentifiers,
    IReadOnlyList<InjectedRecordTruth> Injected,
    IReadOnlyList<ConsentTruth> Consents)
{
    /// <summary>
    /// The <c>identity_conflict</c> records the profiles worker must flag: one per sale with a shared card by a member
    /// beyond the email cap.
    /// </summary>
    public long ExpectedIdentityConflicts => SharedIdentifiers.Sum(s => (long)s.ExpectedConflicts);

    /// <summary>One truth for several waves sent one after the other; record indexes continue across them.</summary>
    public static GroundTruth Combine(IReadOnlyList<GroundTruth> waves)
    {
        ArgumentNullException.ThrowIfNull(waves);
        if (waves.Count == 0)
        {
            throw new ArgumentException("At least one wave is needed.", nameof(waves));
        }

        var offset = 0L;
        var injected = new List<InjectedRecordTruth>();
        var consents = new List<ConsentTruth>();
        foreach (var wave in waves)
        {
            var shift = offset;
            injected.AddRange(wave.Injected.Select(i => i with { Index = i.Index + shift }));
            consents.AddRange(wave.Consents.Select(c => c with { Index = c.Index + shift }));
            offset += wave.Records;
        }

        return new GroundTruth(
            waves[0].Seed,
            waves[0].Run,
            waves.Sum(w => w.Waves),
            waves[0].Now,
            offset,
            Sum(waves.Select(w => w.RecordsPerTopic)),
            Sum(waves.Select(w => w.InjectedPerCode)),
            [.. waves.SelectMany(w => w.Customers)],
            [.. waves.SelectMany(w => w.SharedIdentifiers)],
            injected,
            consents);
    }

    private static SortedDictionary<string, long> Sum(IEnumerable<IReadOnlyDictionary<string, long>> counts)
    {
        var sum = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var (key, n) in counts.SelectMany(c => c))
        {
            sum[key] = sum.GetValueOrDefault(key) + n;
        }

        return sum;
    }
}

/// <summary>
/// Collects the ground truth while the records are produced: pass every record of
/// <see cref="TrafficSimulator.Generate"/>, in order, to <see cref="Observe"/>.
/// </summary>
public sealed class GroundTruthBuilder(TrafficSimulator simulator)
{
    private static readonly string[] Quarantining =
    [
        ReasonCodes.MalformedJson, ReasonCodes.OversizedRecord, ReasonCodes.SchemaViolation, ReasonCodes.FutureTimestamp,
        ReasonCodes.OutOfRange, ReasonCodes.UnknownCurrency, ReasonCodes.DuplicateEvent,
    ];

    private readonly SortedDictionary<string, long> perTopic = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, long> perCode = new(StringComparer.Ordinal);
    private readonly List<InjectedRecordTruth> injected = [];
    private readonly List<ConsentTruth> consents = [];
    private readonly Dictionary<int, SortedSet<(string, string)>> used = [];
    private long index;

    public void Observe(SimulatedRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        perTopic[record.Topic] = perTopic.GetValueOrDefault(record.Topic) + 1;
        foreach (var code in record.InjectedCodes)
        {
            perCode[code] = perCode.GetValueOrDefault(code) + 1;
        }

        if (!record.IsClean)
        {
            injected.Add(new InjectedRecordTruth(index, record.Topic, record.EventId, record.CustomerId, record.InjectedCodes));
        }

        if (record.CustomerId is { } id && !record.InjectedCodes.Any(Quarantining.Contains))
        {
            using var doc = JsonDocument.Parse(record.Value);
            var root = doc.RootElement;
            if (record.Topic == SimulatorTopics.Consent)
            {
                consents.Add(new ConsentTruth(index, record.EventId, id, root.GetProperty("identifier_type").GetString()!, root.GetProperty("action").GetString()!));
            }
            else
            {
                // Flagged or clean: the valid identifiers are used; the canonical raw value comes from the customer.
                var c = simulator.Customer(id);
                var set = used.TryGetValue(id, out var s) ? s : used[id] = [];
                if (root.TryGetProperty("anonymous_id", out var device))
                {
                    set.Add(("device", device.GetString()!));
                }

                if (root.TryGetProperty("email", out _) && !record.InjectedCodes.Contains(ReasonCodes.InvalidEmail)
                    && !record.InjectedCodes.Contains(ReasonCodes.IdentityConflict))
                {
                    set.Add(("email", c.Email));
                }

                if (root.TryGetProperty("phone", out _) && !record.InjectedCodes.Contains(ReasonCodes.InvalidPhone))
                {
                    set.Add(("phone", c.Phone));
                }

                if (root.TryGetProperty("loyalty_id", out _))
                {
                    set.Add(("loyalty", c.LoyaltyId!));
                }

                if (root.TryGetProperty("handle", out _))
                {
                    set.Add(("social", c.Social.ToString()));
                }
            }
        }

        index++;
    }

    public GroundTruth Build() => new(
        simulator.Options.Seed,
        simulator.Options.Run,
        1,
        simulator.Options.Now,
        index,
        new SortedDictionary<string, long>(perTopic, StringComparer.Ordinal),
        new SortedDictionary<string, long>(perCode, StringComparer.Ordinal),
        [.. simulator.Customers.Select(c => new CustomerTruth(
            c.Id, c.Persona.Id, c.Name, c.FamilyId,
            used.TryGetValue(c.Id, out var s) ? [.. s.Select(i => new IdentifierTruth(i.Item1, i.Item2))] : []))],
        simulator.SharedIdentifiers,
        [.. injected],
        [.. consents]);
}

/// <summary>Writes a <see cref="GroundTruth"/> as indented snake_case JSON (source-generated serializer).</summary>
public static class GroundTruthWriter
{
    public static async Task WriteAsync(GroundTruth truth, string path, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(truth);
        await using var stream = File.Create(path);
        await JsonSerializer.SerializeAsync(stream, truth, GroundTruthJsonContext.Default.GroundTruth, cancellationToken);
    }

    public static GroundTruth? Read(string path) =>
        JsonSerializer.Deserialize(File.ReadAllText(path), GroundTruthJsonContext.Default.GroundTruth);
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true)]
[JsonSerializable(typeof(GroundTruth))]
internal sealed partial class GroundTruthJsonContext : JsonSerializerContext;
