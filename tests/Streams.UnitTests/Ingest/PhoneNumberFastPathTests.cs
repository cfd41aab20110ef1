using System.Globalization;
using System.Text;
using PhoneNumbers;
using Streams.Ingest.Pseudonymization;

namespace Streams.UnitTests.Ingest;

/// <summary>
/// Issue 17: the phone fast path must give exactly libphonenumber's answer (accept or reject, and the same E.164
/// text) for every input, so it is compared with the libphonenumber-only path on a large random corpus built from
/// libphonenumber's own metadata: every calling code and region, national parts of 1–20 digits, leading zeros,
/// national prefixes, international prefixes, with and without <c>+</c> or <c>00</c>, with separators.
/// </summary>
public sealed class PhoneNumberFastPathTests
{
    private const int RandomCandidates = 250_000;

    private static readonly PhoneNumberUtil Util = PhoneNumberUtil.GetInstance();

    private static readonly string[] Regions = [.. Util.GetSupportedRegions().Order(StringComparer.Ordinal)];

    private static readonly int[] CallingCodes = [.. Util.GetSupportedCallingCodes().Order()];

    [Fact]
    public void TryNormalizePhone_RandomCorpus_SameAsLibPhoneNumber()
    {
        var random = new Random(17);
        var mismatches = new List<string>();
        var fast = 0;
        var accepted = 0;
        for (var i = 0; i < RandomCandidates && mismatches.Count < 20; i++)
        {
            var region = random.Next(4) == 0 ? Pick(random, ["US", "GB", "DE", "FR", "IT", "CA"]) : Pick(random, Regions);
            var raw = Candidate(random, region);
            Compare(raw, region, mismatches, ref fast, ref accepted);
        }

        Assert.Empty(mismatches);
        // The comparison means something only when both paths are taken often: most candidates are junk.
        Assert.True(fast > RandomCandidates / 20, $"fast path decided {fast} of {RandomCandidates}");
        Assert.True(accepted > fast, $"{accepted} accepted, {fast} by the fast path");
    }

    [Fact]
    public void TryNormalizePhone_EveryCallingCodeAndLength_SameAsLibPhoneNumber()
    {
        var random = new Random(16);
        var mismatches = new List<string>();
        var fast = 0;
        var accepted = 0;
        foreach (var code in CallingCodes)
        {
            var region = Util.GetRegionCodeForCountryCode(code);
            var metadata = region == "001" ? Util.GetMetadataForNonGeographicalRegion(code) : Util.GetMetadataForRegion(region);
            var prefixes = new[] { "", "0", "00", metadata.NationalPrefix ?? "", Digits(metadata.NationalPrefixForParsing) };
            for (var length = 1; length <= 20; length++)
            {
                foreach (var prefix in prefixes)
                {
                    var national = prefix + RandomDigits(random, length, firstNotZero: true);
                    var c = code.ToString(CultureInfo.InvariantCulture);
                    var defaultRegion = region == "001" ? "US" : region;
                    foreach (var raw in new[] { "+" + c + national, "00" + c + national, national, c + national })
                    {
                        Compare(raw, defaultRegion, mismatches, ref fast, ref accepted);
                        Compare(raw, "US", mismatches, ref fast, ref accepted);
                    }
                }
            }
        }

        Assert.Empty(mismatches);
        Assert.True(fast > 1000, $"fast path decided {fast}");
    }

    [Theory]
    [InlineData("+49 30 1234567", "DE")]
    [InlineData("+49 (0)30 1234 5678", "US")]
    [InlineData("0049 30 12345678", "US")]
    [InlineData("(212) 555-0100", "US")]
    [InlineData("212.555.0100", "US")]
    [InlineData("0044 20 7946 0958", "US")]
    [InlineData("+33 6 12 34 56 78", "US")]
    [InlineData("020 7946 0958", "GB")]
    public void TryFormat_CommonShapes_TakeTheFastPath(string raw, string region)
    {
        var destination = new char[IdentifierNormalizer.MaxPhoneDigits + 1];
        Assert.True(IdentifierNormalizer.TryNormalizePhone(raw, region, fastPath: false, destination, out var written));
        var expected = new string(destination, 0, written);
        Assert.True(FastPathDecides(raw, region));
        Assert.True(IdentifierNormalizer.TryNormalizePhone(raw, region, fastPath: true, destination, out written));
        Assert.Equal(expected, new string(destination, 0, written));
    }

    private static void Compare(string raw, string region, List<string> mismatches, ref int fast, ref int accepted)
    {
        var reference = new char[IdentifierNormalizer.MaxPhoneDigits + 1];
        var candidate = new char[IdentifierNormalizer.MaxPhoneDigits + 1];
        var expectedOk = IdentifierNormalizer.TryNormalizePhone(raw, region, fastPath: false, reference, out var expectedWritten);
        var actualOk = IdentifierNormalizer.TryNormalizePhone(raw, region, fastPath: true, candidate, out var actualWritten);
        var expected = expectedOk ? new string(reference, 0, expectedWritten) : "(rejected)";
        var actual = actualOk ? new string(candidate, 0, actualWritten) : "(rejected)";
        if (expected != actual)
        {
            mismatches.Add($"'{raw}' in {region}: libphonenumber {expected}, fast path {actual}");
        }

        accepted += expectedOk ? 1 : 0;
        if (FastPathDecides(raw, region))
        {
            fast++;
        }
    }

    /// <summary>Whether the fast path itself answered, on the digits the normalizer gives it.</summary>
    private static bool FastPathDecides(string raw, string region)
    {
        var digits = new char[IdentifierNormalizer.MaxPhoneDigits + 2];
        return IdentifierNormalizer.TryCompactPhone(raw, digits, out var international, out var count)
            && PhoneNumberFastPath.TryFormat(digits.AsSpan(0, count), international, region, new char[IdentifierNormalizer.MaxPhoneDigits + 1], out _);
    }

    /// <summary>A random candidate: a calling code (often the region's own, sometimes unknown), prefixes libphonenumber
    /// treats specially, 1–20 digits, in one of the ways people write numbers, sometimes with junk.</summary>
    private static string Candidate(Random random, string region)
    {
        var metadata = Util.GetMetadataForRegion(region);
        var code = random.Next(10) switch
        {
            < 4 => metadata.CountryCode,
            < 9 => Pick(random, CallingCodes),
            _ => random.Next(0, 1000),
        };

        var national = new StringBuilder();
        switch (random.Next(8))
        {
            case 0:
                national.Append(metadata.NationalPrefix);
                break;
            case 1:
                national.Append(Digits(metadata.NationalPrefixForParsing));
                break;
            case 2:
                national.Append('0', random.Next(1, 4));
                break;
            case 3:
                national.Append(Digits(metadata.InternationalPrefix));
                break;
            case 4:
                national.Append(metadata.CountryCode);
                break;
            default:
                break;
        }

        national.Append(RandomDigits(random, random.Next(1, 21), firstNotZero: random.Next(3) > 0));
        var c = code.ToString(CultureInfo.InvariantCulture);
        var digits = random.Next(6) switch
        {
            0 or 1 => "+" + c + national,
            2 => "00" + c + national,
            3 => c + national,
            _ => national.ToString(),
        };

        return Decorate(random, digits);
    }

    /// <summary>Separators between digits, an <c>(0)</c> after the code, white space around, rarely a bad character.</summary>
    private static string Decorate(Random random, string digits)
    {
        if (random.Next(3) == 0)
        {
            return digits;
        }

        var text = new StringBuilder();
        if (random.Next(5) == 0)
        {
            text.Append(' ');
        }

        for (var i = 0; i < digits.Length; i++)
        {
            text.Append(digits[i]);
            if (digits[i] != '+' && random.Next(4) == 0)
            {
                text.Append(Pick(random, [" ", "-", ".", "/", "(", ")", " (0)", "  ", "x", "#"]));
            }
        }

        if (random.Next(5) == 0)
        {
            text.Append('\t');
        }

        return text.ToString();
    }

    private static string RandomDigits(Random random, int length, bool firstNotZero)
    {
        var text = new char[length];
        for (var i = 0; i < length; i++)
        {
            text[i] = (char)('0' + (i == 0 && firstNotZero ? random.Next(1, 10) : random.Next(10)));
        }

        return new string(text);
    }

    /// <summary>The leading ASCII digits of a metadata regex (<c>0</c>, <c>011</c>, <c>0(?:…)</c> → <c>0</c>).</summary>
    private static string Digits(string? pattern) => new([.. (pattern ?? "").TakeWhile(char.IsAsciiDigit)]);

    private static T Pick<T>(Random random, IReadOnlyList<T> items) => items[random.Next(items.Count)];
}
