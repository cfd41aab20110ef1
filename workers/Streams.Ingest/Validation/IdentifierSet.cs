using System.Runtime.CompilerServices;
using Streams.Contracts.Identifiers;
using Streams.Contracts.Quarantine;
using Streams.Ingest.Pseudonymization;

namespace Streams.Ingest.Validation;

/// <summary>
/// An identifier field of the input and its pseudonym; null when the value was not a valid identifier. During a
/// rotation window, <paramref name="Previous"/> is its pseudonym under the previous key and version. A consent
/// request's identifier also has its pseudonyms under every other configured key and version in <paramref name="Others"/>.
/// </summary>
/// <remarks>A struct: a record has one or two of these, and they live only while it is judged.</remarks>
internal readonly record struct ResolvedIdentifier(
    string Field, IdentifierType Type, string? Pseudonym, string? Previous = null, IReadOnlyList<string>? Others = null);

/// <summary>
/// Reads the identifier fields of one record and pseudonymizes them on the spot, so the raw values never reach
/// any model. Invalid emails and phones are reported and dropped; whether the event survives depends on what is left.
/// </summary>
internal sealed class IdentifierSet(Pseudonymizer pseudonymizer, BlockedIdentifiers? blocked = null)
{
    private readonly Pseudonymizer pseudonymizer = pseudonymizer;
    private readonly BlockedIdentifiers? blocked = blocked;

    /// <summary>Longer identifiers (or ones with an escape or non-ASCII text) are read as a string first.</summary>
    private const int MaxShortIdentifier = 128;

    /// <summary>The set this thread judges its records with: nothing in it outlives the record, so it is reused.</summary>
    [ThreadStatic]
    private static IdentifierSet? threadSet;

    private readonly List<ResolvedIdentifier> items = new(3);

    /// <summary>
    /// This thread's set, emptied, for one record. Judging never nests, and nothing read from the set is kept past the
    /// record (the pseudonyms are strings of their own), so one set per thread serves every record.
    /// </summary>
    public static IdentifierSet ForRecord(Pseudonymizer pseudonymizer, BlockedIdentifiers? blocked)
    {
        var set = threadSet;
        if (set is null || !ReferenceEquals(set.pseudonymizer, pseudonymizer) || !ReferenceEquals(set.blocked, blocked))
        {
            set = new IdentifierSet(pseudonymizer, blocked);
            threadSet = set;
        }

        set.items.Clear();
        return set;
    }

    public IReadOnlyList<ResolvedIdentifier> Items => items;

    /// <summary>How many identifier fields were present with a string value, valid or not.</summary>
    public int PresentCount => items.Count;

    public int ValidCount
    {
        get
        {
            var count = 0;
            foreach (var item in items)
            {
                count += item.Pseudonym is not null ? 1 : 0;
            }

            return count;
        }
    }

    public ResolvedIdentifier? Find(string field)
    {
        foreach (var item in items)
        {
            if (item.Field == field)
            {
                return item;
            }
        }

        return null;
    }

    /// <summary>An email, phone, loyalty or device identifier in <paramref name="field"/>.</summary>
    /// <remarks>With <paramref name="lookup"/> (a consent request) every configured key's pseudonym is kept too.</remarks>
    [SkipLocalsInit]
    public void Read(FieldReader f, string field, IdentifierType type, int maxLength, bool required = false, bool lookup = false)
    {
        // A short ASCII value without an escape is the text itself: pseudonymized from the stack, without a string of
        // the raw value. A blank loyalty or device id is left to the read below, which reports it.
        Span<char> buffer = stackalloc char[MaxShortIdentifier];
        if (f.TryGetShortAscii(field, buffer[..Math.Min(maxLength, MaxShortIdentifier)], out var length)
            && (type is IdentifierType.Email or IdentifierType.Phone || !buffer[..length].IsWhiteSpace()))
        {
            Resolve(f, field, type, buffer[..length], lookup);
            return;
        }

        // Any string short enough is a schema-valid email or phone: their validity is semantic and has its own codes.
        var raw = type is IdentifierType.Email or IdentifierType.Phone
            ? f.String(field, maxLength, required)
            : f.NonBlankString(field, maxLength, required);
        if (raw is not null)
        {
            Resolve(f, field, type, raw, lookup);
        }
    }

    /// <summary>The social identifier of an event: the handle on a platform (null when the platform was invalid).</summary>
    public void ReadSocial(FieldReader f, string? platform, string field, int maxLength)
    {
        var handle = f.String(field, maxLength, required: true);
        if (handle is null)
        {
            return;
        }

        if (!IdentifierNormalizer.HasCharacterOtherThanWhiteSpaceOrAt(handle))
        {
            f.Violation(field, "must contain a character other than white space and '@'");
            items.Add(new ResolvedIdentifier(field, IdentifierType.Social, null));
            return;
        }

        string? previous = null;
        var pseudonym = platform is not null && pseudonymizer.TryPseudonymizeSocial(platform, handle, out var p, out previous) ? p : null;
        // The "platform:handle" text only when something social is blocked: otherwise it was a string per record for nothing.
        if (pseudonym is not null && blocked?.Covers(IdentifierType.Social) == true && IsBlocked(f, field, IdentifierType.Social, $"{platform}:{handle}"))
        {
            (pseudonym, previous) = (null, null);
        }

        items.Add(new ResolvedIdentifier(field, IdentifierType.Social, pseudonym, previous));
    }

    /// <summary>
    /// A blocked identifier (<c>Identity:Blocked</c>) is left out like an invalid one, with <c>identity_conflict</c>: the
    /// event is used without it, and quarantined when it was the only identifier. Its pseudonym never leaves ingest.
    /// </summary>
    private bool IsBlocked(FieldReader f, string field, IdentifierType type, ReadOnlySpan<char> raw)
    {
        if (blocked is null || !blocked.Covers(type) || !blocked.IsBlocked(type, new string(raw)))
        {
            return false;
        }

        f.Reasons.Add(ReasonCodes.IdentityConflict, f.Path(field), "is a blocked identifier (Identity:Blocked): it never links profiles");
        return true;
    }

    /// <param name="lookup">A consent request: every configured key's pseudonym is kept too.</param>
    private void Resolve(FieldReader f, string field, IdentifierType type, ReadOnlySpan<char> raw, bool lookup)
    {
        var valid = pseudonymizer.TryPseudonymize(type, raw, out var pseudonym, out var previous);
        if (valid && IsBlocked(f, field, type, raw))
        {
            items.Add(new ResolvedIdentifier(field, type, null));
            return;
        }

        items.Add(new ResolvedIdentifier(field, type, pseudonym, previous));
        if (valid)
        {
            if (lookup)
            {
                var all = pseudonymizer.LookupPseudonyms(type, raw, pseudonym!);
                items[^1] = items[^1] with { Others = all.GetRange(1, all.Count - 1) };
            }

            return;
        }

        switch (type)
        {
            case IdentifierType.Email:
                f.Reasons.Add(ReasonCodes.InvalidEmail, f.Path(field), "is not a valid email address");
                break;
            case IdentifierType.Phone:
                f.Reasons.Add(ReasonCodes.InvalidPhone, f.Path(field), "is not a possible phone number (a known country code and a length its numbering plan allows)");
                break;
            case IdentifierType.Social:
                // Only the consent form "platform:handle" gets here; its shape is a schema rule.
                f.Violation(field, "must be platform:handle with a platform of " + string.Join(", ", IdentifierNormalizer.SocialPlatforms));
                break;
            default:
                // Loyalty and device ids are valid whenever they are non-blank, which the read already checked.
                break;
        }
    }
}
