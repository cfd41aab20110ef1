using System.Text;
using Confluent.Kafka;
using Streams.Contracts;
using Streams.Contracts.Outputs;
using Streams.Ingest.Worker;

namespace Streams.Quality.Stewardship;

/// <summary>
/// The headers a replayed record carries on its input topic (CONTRACT.md §9.4): which input record it replays and which
/// steward sent it. Ingest judges a replayed record like any other and copies no input header, so these stay on the
/// input topic, where an operator can tell a replay from the channel's own records.
/// </summary>
public static class ReplayHeaders
{
    /// <summary><c>topic/partition/offset</c> of the original input record.</summary>
    public const string ReplayOf = "streams-replay-of";

    /// <summary>The steward's operator account name (never personal data: <see cref="ReplayEdits.IsStewardName"/>).</summary>
    public const string Steward = "streams-replay-steward";

    /// <summary>The two headers; a steward name that is not an operator account name is refused.</summary>
    public static Headers For(SourcePosition original, string steward)
    {
        ArgumentNullException.ThrowIfNull(original);
        if (!ReplayEdits.IsStewardName(steward))
        {
            throw new ArgumentException("a steward is named by an operator account name (letters, digits, '.', '_', '-'), never personal data", nameof(steward));
        }

        return new Headers
        {
            { ReplayOf, Encoding.UTF8.GetBytes(OutputHeaders.Format(original)) },
            { Steward, Encoding.UTF8.GetBytes(steward) },
        };
    }

    /// <summary>The original position and steward of a replayed record, or null for a record no steward replayed.</summary>
    public static (SourcePosition Original, string Steward)? Read(Headers? headers)
    {
        // A producer may send a header without a value.
        if (headers is null || !headers.TryGetLastBytes(ReplayOf, out var of) || !headers.TryGetLastBytes(Steward, out var steward)
            || of is null || steward is null || !System.Text.Unicode.Utf8.IsValid(of) || !System.Text.Unicode.Utf8.IsValid(steward))
        {
            return null;
        }

        return StewardPosition.TryParse(Encoding.UTF8.GetString(of), '/', out var original)
            ? (original, Encoding.UTF8.GetString(steward))
            : null;
    }
}

/// <summary>Input positions as stewards and scripts write them: <c>topic:partition:offset</c>.</summary>
public static class StewardPosition
{
    public static string Format(SourcePosition source)
    {
        ArgumentNullException.ThrowIfNull(source);
        return string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{source.Topic}:{source.Partition}:{source.Offset}");
    }

    /// <summary>Reads <c>topic:partition:offset</c> (or with another <paramref name="separator"/>); topic names cannot hold it.</summary>
    public static bool TryParse(string? text, char separator, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out SourcePosition? position)
    {
        position = null;
        var parts = text?.Split(separator);
        if (parts is not [{ Length: > 0 } topic, var partition, var offset]
            || !int.TryParse(partition, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var p)
            || !long.TryParse(offset, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var o))
        {
            return false;
        }

        position = new SourcePosition(topic, p, o);
        return true;
    }
}
