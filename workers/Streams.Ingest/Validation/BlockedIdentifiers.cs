using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using Streams.Contracts.Identifiers;
using Streams.Ingest.Pseudonymization;

namespace Streams.Ingest.Validation;

/// <summary>
/// Configuration section <c>Identity</c>, the part ingest reads: <c>Identity:Blocked</c> (CONTRACT §4
/// <c>identity_conflict</c>). The profiles worker binds the same section for its caps.
/// </summary>
public sealed class IdentityBlockingOptions
{
    public const string SectionName = "Identity";

    public BlockedIdentifiersOptions Blocked { get; set; } = new();
}

/// <summary>
/// Identifiers that never link profiles: shared test addresses, default phone numbers, demo loyalty cards. Keys of both
/// dictionaries are identifier types (<c>email</c>, <c>phone</c>, <c>loyalty</c>, <c>device</c>, <c>social</c>); values
/// and patterns apply to the normalized identifier (CONTRACT §3), so <c>Test@Example.com </c> is blocked by
/// <c>test@example.com</c>, and a social value is <c>platform:handle</c>.
/// </summary>
public sealed class BlockedIdentifiersOptions
{
    /// <summary>Exact values per type, written as a producer would send them; they are normalized at start.</summary>
    public Dictionary<string, List<string>> Values { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>.NET regular expressions per type, run without backtracking; one that matches anywhere in the
    /// normalized value blocks it (anchor it with <c>^…$</c> to match the whole value).</summary>
    public Dictionary<string, List<string>> Patterns { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Longest one pattern may run on one value; a value it times out on is treated as blocked. Default 50 ms.</summary>
    public TimeSpan PatternTimeout { get; set; } = TimeSpan.FromMilliseconds(50);
}

/// <summary>Refuses an unknown identifier type, a pattern that does not compile and a timeout out of range, at start.</summary>
public sealed class IdentityBlockingOptionsValidator : IValidateOptions<IdentityBlockingOptions>
{
    public ValidateOptionsResult Validate(string? name, IdentityBlockingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var blocked = options.Blocked;
        var failures = new List<string>();
        foreach (var (section, entries) in new[] { ("Values", blocked.Values), ("Patterns", blocked.Patterns) })
        {
            foreach (var type in entries.Keys.Where(t => !IdentifierTypeNames.TryParse(t.ToLowerInvariant(), out _)))
            {
                failures.Add($"Identity:Blocked:{section}:{type} is not an identifier type (email, phone, loyalty, device, social).");
            }
        }

        if (blocked.PatternTimeout <= TimeSpan.Zero || blocked.PatternTimeout > TimeSpan.FromSeconds(10))
        {
            failures.Add("Identity:Blocked:PatternTimeout must be more than 0 and at most 00:00:10.");
        }

        foreach (var (type, patterns) in blocked.Patterns)
        {
            for (var i = 0; i < patterns.Count; i++)
            {
                if (!BlockedIdentifiers.TryCompile(patterns[i], TimeSpan.FromSeconds(1), out _, out var error))
                {
                    // The pattern itself may hold a value someone wants blocked: name its position, never its text.
                    failures.Add($"Identity:Blocked:Patterns:{type}:{i} is not a valid pattern: {error}");
                }
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>
/// Decides whether a raw identifier is blocked, on its normalized value (after normalization, before the pseudonym):
/// raw values exist only in ingest, so this is the one place a configured value can be recognized. Thread-safe.
/// </summary>
public sealed class BlockedIdentifiers
{
    private static readonly IdentifierType[] Types = Enum.GetValues<IdentifierType>();

    private readonly HashSet<string>[] values;
    private readonly Regex[][] patterns;
    private readonly NormalizationRules rules;

    public BlockedIdentifiers(IOptions<IdentityBlockingOptions> options, IOptions<PseudonymizationOptions> pseudonymization)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(pseudonymization);
        var result = new IdentityBlockingOptionsValidator().Validate(null, options.Value);
        if (result.Failed)
        {
            throw new OptionsValidationException(IdentityBlockingOptions.SectionName, typeof(IdentityBlockingOptions), result.Failures);
        }

        var blocked = options.Value.Blocked;
        // The active rules: an identifier is blocked by the value its active pseudonym is made from.
        rules = NormalizationRules.For(pseudonymization.Value.NormalizationVersion, pseudonymization.Value.EffectiveRegion());
        values = [.. Types.Select(_ => new HashSet<string>(StringComparer.Ordinal))];
        var compiled = Types.Select(_ => new List<Regex>()).ToArray();
        foreach (var (name, list) in blocked.Values)
        {
            IdentifierTypeNames.TryParse(name.ToLowerInvariant(), out var type);
            // A configured value that does not normalize is not a valid identifier: ingest never links it anyway.
            values[(int)type].UnionWith(list.Select(v => Normalize(type, v)).OfType<string>());
        }

        foreach (var (name, list) in blocked.Patterns)
        {
            IdentifierTypeNames.TryParse(name.ToLowerInvariant(), out var type);
            compiled[(int)type].AddRange(list.Select(p => TryCompile(p, blocked.PatternTimeout, out var regex, out _)
                ? regex!
                : throw new ArgumentException("Invalid blocked-identifier pattern.", nameof(options))));
        }

        patterns = [.. compiled.Select(c => c.ToArray())];
    }

    /// <summary>True when some value or pattern of <paramref name="type"/> is configured: only then is anything normalized.</summary>
    public bool Covers(IdentifierType type) => values[(int)type].Count > 0 || patterns[(int)type].Length > 0;

    /// <summary>Whether <paramref name="raw"/> (for social: <c>platform:handle</c>) is blocked. An invalid value is not.</summary>
    public bool IsBlocked(IdentifierType type, string raw)
    {
        ArgumentNullException.ThrowIfNull(raw);
        if (!Covers(type) || Normalize(type, raw) is not { } normalized)
        {
            return false;
        }

        if (values[(int)type].Contains(normalized))
        {
            return true;
        }

        foreach (var pattern in patterns[(int)type])
        {
            try
            {
                if (pattern.IsMatch(normalized))
                {
                    return true;
                }
            }
            catch (RegexMatchTimeoutException)
            {
                // Not linking a customer costs less than fusing strangers; and the exception carries the value, so it
                // is not logged.
                return true;
            }
        }

        return false;
    }

    internal static bool TryCompile(string pattern, TimeSpan timeout, out Regex? regex, out string? error)
    {
        regex = null;
        try
        {
            // Non-backtracking: linear in the value's length whatever the pattern, so no pattern can stall ingest.
            regex = new Regex(pattern, RegexOptions.NonBacktracking | RegexOptions.CultureInvariant, timeout);
            error = null;
            return true;
        }
        catch (RegexParseException e)
        {
            error = $"{e.Error} at offset {e.Offset}";
        }
        catch (NotSupportedException)
        {
            error = "a construct the non-backtracking engine does not support (backreferences, lookarounds, atomic groups)";
        }

        return false;
    }

    // The same normalization the pseudonym is made from (CONTRACT §3).
    private string? Normalize(IdentifierType type, string raw) =>
        IdentifierNormalizer.TryNormalize(type, raw, rules, out var normalized) ? normalized : null;
}
