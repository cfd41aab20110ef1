using System.Globalization;
using System.Text;
using Confluent.Kafka;

namespace Streams.Contracts.Outputs;

/// <summary>What ingest writes on every output record so that a restart can tell which inputs already have output.</summary>
public static class OutputHeaders
{
    /// <summary><c>topic/partition/offset</c> of the input record (topic names cannot hold '/').</summary>
    public const string Source = "streams-source";

    /// <summary><c>event</c>, <c>consent</c> (canonical topic) or <c>quarantine</c>.</summary>
    public const string Kind = "streams-kind";

    /// <summary>
    /// The output's seal: <see cref="IOutputSealer.Seal"/> of <c>source/kind</c>, <see cref="SealBytes"/> bytes. Ingest's
    /// recovery scan takes only sealed records for its own outputs; consumers may ignore it.
    /// </summary>
    public const string Seal = "streams-seal";

    /// <summary>Bytes of a <see cref="Seal"/> header.</summary>
    public const int SealBytes = 16;

    public const string KindEvent = "event";
    public const string KindConsent = "consent";
    public const string KindQuarantine = "quarantine";

    /// <summary>
    /// What <see cref="ReadKind"/> and <see cref="Read"/> give for a kind ingest never writes. Never the header's own
    /// bytes: a forged record's header may be megabytes long, not UTF-8, or personal data, and a reader that quotes it
    /// in a quarantine detail would carry all of that along.
    /// </summary>
    public const string KindUnknown = "unknown";

    /// <summary>The longest source header ingest writes: a topic name (at most 249 characters) and two numbers.</summary>
    private const int MaxSourceBytes = 249 + 1 + 10 + 1 + 19;

    public static Headers For(SourcePosition source, string kind) => new()
    {
        { Source, Encoding.UTF8.GetBytes(Format(source)) },
        { Kind, Encoding.UTF8.GetBytes(kind) },
    };

    /// <summary>The headers of an output ingest writes: <see cref="For(SourcePosition, string)"/> and its <see cref="Seal"/>.</summary>
    public static Headers For(SourcePosition source, string kind, IOutputSealer sealer)
    {
        ArgumentNullException.ThrowIfNull(sealer);
        var headers = For(source, kind);
        var seal = new byte[SealBytes];
        sealer.Seal(Sealed(source, kind), seal);
        headers.Add(Seal, seal);
        return headers;
    }

    /// <summary>True when <paramref name="headers"/> carry the seal of <paramref name="source"/> and <paramref name="kind"/>.</summary>
    public static bool IsSealed(Headers? headers, SourcePosition source, string kind, IOutputSealer sealer)
    {
        ArgumentNullException.ThrowIfNull(sealer);
        return TryGetLast(headers, Seal, out var seal) && sealer.IsSealed(Sealed(source, kind), seal);
    }

    private static byte[] Sealed(SourcePosition source, string kind) => Encoding.UTF8.GetBytes(Format(source) + "/" + kind);

    public static string Format(SourcePosition source) =>
        string.Create(CultureInfo.InvariantCulture, $"{source.Topic}/{source.Partition}/{source.Offset}");

    /// <summary>
    /// The kind written by <see cref="For"/>, or null for a record ingest did not write (no source or no kind header), for
    /// readers that need only the kind: the known kinds come back as the constants, without parsing the source.
    /// </summary>
    public static string? ReadKind(Headers? headers)
    {
        if (!TryGetLast(headers, Source, out _) || !TryGetLast(headers, Kind, out var kind))
        {
            return null;
        }

        return KindOf(kind);
    }

    /// <summary>The source and kind written by <see cref="For"/>, or null for a record ingest did not write.</summary>
    public static (SourcePosition Source, string Kind)? Read(Headers? headers)
    {
        if (!TryGetLast(headers, Source, out var source) || !TryGetLast(headers, Kind, out var kind)
            || source.Length > MaxSourceBytes || !System.Text.Unicode.Utf8.IsValid(source))
        {
            return null;
        }

        var parts = Encoding.UTF8.GetString(source).Split('/');
        if (parts.Length != 3
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var partition)
            || !long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var offset))
        {
            return null;
        }

        return (new SourcePosition(parts[0], partition, offset), KindOf(kind));
    }

    /// <summary>The last header named <paramref name="key"/> when it has a value: a producer may send a header without one.</summary>
    private static bool TryGetLast(Headers? headers, string key, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out byte[]? value)
    {
        value = null;
        return headers is not null && headers.TryGetLastBytes(key, out value) && value is not null;
    }

    /// <summary>The known kinds as the constants, without a new string per record; anything else is <see cref="KindUnknown"/>.</summary>
    private static string KindOf(ReadOnlySpan<byte> kind) =>
        kind.SequenceEqual(KindEventUtf8) ? KindEvent
        : kind.SequenceEqual(KindConsentUtf8) ? KindConsent
        : kind.SequenceEqual(KindQuarantineUtf8) ? KindQuarantine
        : KindUnknown;

    private static readonly byte[] KindEventUtf8 = Encoding.UTF8.GetBytes(KindEvent);
    private static readonly byte[] KindConsentUtf8 = Encoding.UTF8.GetBytes(KindConsent);
    private static readonly byte[] KindQuarantineUtf8 = Encoding.UTF8.GetBytes(KindQuarantine);
}

/// <summary>
/// Makes and checks the <see cref="OutputHeaders.Seal"/> of an output: a keyed MAC truncated to
/// <see cref="OutputHeaders.SealBytes"/> bytes. The key is the writer's (ingest's pseudonymization key); the header's
/// shape is the contract's.
/// </summary>
public interface IOutputSealer
{
    /// <summary>Writes the seal of <paramref name="message"/> into <paramref name="seal"/> (<see cref="OutputHeaders.SealBytes"/> bytes).</summary>
    void Seal(ReadOnlySpan<byte> message, Span<byte> seal);

    /// <summary>True when <paramref name="seal"/> is the seal of <paramref name="message"/> under a key the sealer holds.</summary>
    bool IsSealed(ReadOnlySpan<byte> message, ReadOnlySpan<byte> seal);
}
