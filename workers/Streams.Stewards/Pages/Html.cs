using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Encodings.Web;

namespace Streams.Stewards.Pages;

/// <summary>
/// An HTML fragment under construction. Text goes in through interpolated strings whose holes are HTML-encoded
/// (<see cref="HtmlHandler"/>), so a value from a record can never become markup; only <see cref="Markup"/> (a fragment
/// built the same way, or SVG serialized by XLinq) goes in as it is.
/// </summary>
internal sealed class Html
{
    private readonly StringBuilder text = new();

    internal StringBuilder Builder => text;

    public Html Add([InterpolatedStringHandlerArgument("")] ref HtmlHandler fragment) => this;

    public Markup ToMarkup() => new(text.ToString());

    public override string ToString() => text.ToString();
}

/// <summary>Markup that is already safe: built by <see cref="Html"/> or serialized by XLinq.</summary>
internal readonly record struct Markup(string Value)
{
    public static Markup Empty { get; } = new(string.Empty);
}

[InterpolatedStringHandler]
internal readonly ref struct HtmlHandler
{
    private readonly StringBuilder text;

    public HtmlHandler(int literalLength, int formattedCount, Html html)
    {
        _ = formattedCount;
        text = html.Builder;
        text.EnsureCapacity(text.Length + literalLength);
    }

    public void AppendLiteral(string literal) => text.Append(literal);

    public void AppendFormatted(Markup markup) => text.Append(markup.Value);

    public void AppendFormatted<T>(T value) => AppendFormatted(value, null);

    public void AppendFormatted<T>(T value, string? format)
    {
        var shown = value switch
        {
            null => string.Empty,
            IFormattable f => f.ToString(format, CultureInfo.InvariantCulture),
            _ => value.ToString() ?? string.Empty,
        };
        text.Append(HtmlEncoder.Default.Encode(shown));
    }
}
