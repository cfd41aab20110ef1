using System.Text.Json;

namespace Streams.Contracts.Canonical;

/// <summary>
/// A property or value name of the canonical records (<see cref="CanonicalNames"/>), encoded once, as a
/// <see cref="JsonEncodedText"/> for readers and writers and as the bytes <see cref="JsonBytes"/> copies: the member
/// <c>,"name":</c> laid out so that any part of it (with or without the comma, or the quoted name alone) is one fixed
/// copy of <see cref="CopyBytes"/> bytes rather than a quote, a copy of the name, a quote and a colon, 25 times an event.
/// </summary>
public sealed class CanonicalName
{
    /// <summary>The bytes copied at once: a member of up to this many bytes (a name of up to 28) takes one copy.</summary>
    internal const int CopyBytes = 32;

    private CanonicalName(string name)
    {
        Text = JsonEncodedText.Encode(name);
        var encoded = Text.EncodedUtf8Bytes;
        MemberLength = encoded.Length + 4;
        // One byte more than a copy, so that a copy from the opening quote stays inside the array too.
        var member = new byte[Math.Max(CopyBytes + 1, MemberLength)];
        member[0] = (byte)',';
        member[1] = (byte)'"';
        encoded.CopyTo(member.AsSpan(2));
        member[encoded.Length + 2] = (byte)'"';
        member[encoded.Length + 3] = (byte)':';
        Member = member;
    }

    /// <summary>The name as the JSON writers and readers take it.</summary>
    public JsonEncodedText Text { get; }

    /// <summary><c>,"name":</c>, then zeros up to at least <see cref="CopyBytes"/> + 1 bytes.</summary>
    internal byte[] Member { get; }

    /// <summary>How many bytes of <see cref="Member"/> are the member.</summary>
    internal int MemberLength { get; }

    /// <summary>Whether every part of the member fits one copy of <see cref="CopyBytes"/>.</summary>
    internal bool FitsOneCopy => MemberLength <= CopyBytes;

    public static implicit operator JsonEncodedText(CanonicalName name) => ToJsonEncodedText(name);

    public static JsonEncodedText ToJsonEncodedText(CanonicalName name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.Text;
    }

    internal static CanonicalName Encode(string name) => new(name);

    public override string ToString() => Text.ToString();
}
