using Streams.Contracts.Identifiers;
using Streams.Ingest.Pseudonymization;

namespace Streams.UnitTests.Ingest;

public sealed class IdentifierNormalizerTests
{
    [Theory]
    [InlineData("  Jane.Doe@Example.COM ", "jane.doe@example.com")]
    [InlineData("\tjane+tag@sub.example.co.uk\n", "jane+tag@sub.example.co.uk")]
    [InlineData("ZOË@EXÄMPLE.DE", "zoë@exämple.de")]
    [InlineData("a@b.co", "a@b.co")]
    public void Normalize_ValidEmail_TrimsAndLowerCases(string raw, string expected)
    {
        Assert.True(IdentifierNormalizer.TryNormalize(IdentifierType.Email, raw, IngestTestKit.Rules, out var normalized));
        Assert.Equal(expected, normalized);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("jane.doe")]
    [InlineData("@example.com")]
    [InlineData("jane@")]
    [InlineData("jane@example")]
    [InlineData("jane@@example.com")]
    [InlineData("jane@doe@example.com")]
    [InlineData("jane doe@example.com")]
    [InlineData("jane@exam ple.com")]
    [InlineData("jane@.example.com")]
    [InlineData("jane@example.com.")]
    [InlineData("jane@example..com")]
    [InlineData("jane@exa\u0000mple.com")]
    public void Normalize_InvalidEmail_Fails(string raw) =>
        Assert.False(IdentifierNormalizer.TryNormalize(IdentifierType.Email, raw, IngestTestKit.Rules, out _));

    /// <summary>
    /// Every character of the Basic Multilingual Plane in the local part, alone and after a non-ASCII letter: valid exactly
    /// when it is neither white space nor a control character (nor a second '@').
    /// </summary>
    [Fact]
    public void Normalize_EmailWithAnyCharacter_RejectsExactlyWhiteSpaceAndControlCharacters()
    {
        for (var code = 0; code <= char.MaxValue; code++)
        {
            var c = (char)code;
            var expected = c != '@' && !char.IsWhiteSpace(c) && !char.IsControl(c);
            foreach (var raw in (string[])[$"ja{c}ne@example.com", $"zoë{c}x@example.com"])
            {
                Assert.True(
                    expected == IdentifierNormalizer.TryNormalize(IdentifierType.Email, raw, IngestTestKit.Rules, out _),
                    $"U+{code:X4} in {(raw[0] == 'j' ? "an ASCII" : "a non-ASCII")} local part");
            }
        }
    }

    /// <summary>
    /// Short random strings over the characters the rules turn on, ASCII-only and not, against the rules written out
    /// plainly: one '@' with a local part, a domain of 3 or more with a dot, not at either end, never two in a row, no
    /// white space or control character; then trimmed and lower-cased.
    /// </summary>
    [Fact]
    public void Normalize_RandomEmailShapes_FollowTheRulesWrittenOut()
    {
        const string alphabet = "aZ9.@-+._@. \té\u0085";
        var random = new Random(26);
        for (var i = 0; i < 300_000; i++)
        {
            var text = new char[random.Next(0, 14)];
            for (var c = 0; c < text.Length; c++)
            {
                // Mostly ASCII, so the one-pass path is what most cases take.
                text[c] = alphabet[random.Next(random.Next(4) == 0 ? alphabet.Length : alphabet.Length - 4)];
            }

            var raw = new string(text);
            var valid = IdentifierNormalizer.TryNormalize(IdentifierType.Email, raw, IngestTestKit.Rules, out var normalized);
            var expected = EmailByTheRules(raw);
            Assert.True(expected == (valid ? normalized : null), $"'{raw}': {normalized ?? "invalid"}, expected {expected ?? "invalid"}");
        }
    }

    private static string? EmailByTheRules(string raw)
    {
        var value = raw.Trim();
        var parts = value.Split('@');
        if (value.Length is 0 or > IdentifierNormalizer.MaxEmailLength || parts.Length != 2 || parts[0].Length == 0)
        {
            return null;
        }

        var domain = parts[1];
        var domainValid = domain.Length >= 3 && domain[0] != '.' && domain[^1] != '.' && domain.Contains('.') && !domain.Contains("..");
        return domainValid && !value.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)) ? value.ToLowerInvariant() : null;
    }

    [Fact]
    public void Normalize_EmailLongerThan254_Fails()
    {
        var local = new string('a', 64);
        var domain = string.Join('.', Enumerable.Repeat(new string('b', 60), 4)) + ".com"; // 247 chars
        Assert.False(IdentifierNormalizer.TryNormalize(IdentifierType.Email, $"{local}@{domain}", IngestTestKit.Rules, out _));
        Assert.True(IdentifierNormalizer.TryNormalize(IdentifierType.Email, $"a@{domain}", IngestTestKit.Rules, out _));
    }

    private static readonly NormalizationRules V1 = NormalizationRules.For(NormalizationRules.V1, "US");

    [Theory]
    [InlineData("(555) 010-4477", "+15550104477")]
    [InlineData("555.010.4477", "+15550104477")]
    [InlineData("+1 555 010 4477", "+15550104477")]
    [InlineData(" +44 (0)20 7946 0958 ", "+442079460958")]
    [InlineData("+49/30/901820", "+4930901820")]
    [InlineData("+4930901820", "+4930901820")]
    public void Normalize_Phone_FormatsE164(string raw, string expected)
    {
        Assert.True(IdentifierNormalizer.TryNormalize(IdentifierType.Phone, raw, IngestTestKit.Rules, out var normalized));
        Assert.Equal(expected, normalized);
    }

    [Fact]
    public void Normalize_PhoneWithDoubleZeroPrefix_BecomesPlus()
    {
        Assert.True(IdentifierNormalizer.TryNormalize(IdentifierType.Phone, "0044 20 7946 0958", IngestTestKit.Rules, out var normalized));
        Assert.Equal("+442079460958", normalized);
    }

    /// <summary>Issue 16: every way of writing one number, national prefix included, is one E.164 number.</summary>
    [Theory]
    [InlineData("US", "+12125550100", new[] { "1 212 555 0100", "(212) 555-0100", "212.555.0100", "+1 212 555 0100", "001 212 555 0100", "+1 (212) 555-0100" })]
    [InlineData("GB", "+442079460958", new[] { "020 7946 0958", "(020) 7946 0958", "+44 20 7946 0958", "+44 (0)20 7946 0958", "0044 20 7946 0958" })]
    [InlineData("DE", "+4930901820", new[] { "030 901820", "030/901820", "+49 30 901820", "+49 (0)30 901820", "0049 30 901820" })]
    [InlineData("FR", "+33612345678", new[] { "06 12 34 56 78", "06.12.34.56.78", "+33 6 12 34 56 78", "+33 (0)6 12 34 56 78", "0033 6 12 34 56 78" })]
    [InlineData("IN", "+919876543210", new[] { "098765 43210", "98765 43210", "+91 98765 43210", "0091 98765 43210", "+91-98765-43210" })]
    public void Normalize_PhoneNationalAndInternationalForms_OneE164Number(string region, string expected, string[] spellings)
    {
        var rules = NormalizationRules.For(NormalizationRules.Latest, region);
        foreach (var spelling in spellings)
        {
            Assert.True(IdentifierNormalizer.TryNormalize(IdentifierType.Phone, spelling, rules, out var normalized), spelling);
            Assert.Equal(expected, normalized);
        }
    }

    [Theory]
    [InlineData("+1 212 555 010")] // 9 national digits: too short for NANP
    [InlineData("+1 212 555 01000")] // 11: too long
    [InlineData("555 0100")] // 7 digits: possible only locally, without the area code
    [InlineData("+999 1234 5678")] // no such country code
    [InlineData("+44 20 7946")] // too short for the UK
    public void Normalize_PhoneNotPossible_Fails(string raw) =>
        Assert.False(IdentifierNormalizer.TryNormalize(IdentifierType.Phone, raw, IngestTestKit.Rules, out _));

    /// <summary>Possible (country code and length), not valid (assigned): a numbering-plan change must not invalidate a customer.</summary>
    [Theory]
    [InlineData("+1 200 555 0100", "+12005550100")] // area code 200 is not assigned
    [InlineData("(212) 055-0100", "+12120550100")] // an exchange cannot start with 0
    public void Normalize_PhonePossibleButNotAssigned_IsAccepted(string raw, string expected)
    {
        var util = PhoneNumbers.PhoneNumberUtil.GetInstance();
        Assert.False(util.IsValidNumber(util.Parse(raw, "US")));
        Assert.True(IdentifierNormalizer.TryNormalize(IdentifierType.Phone, raw, IngestTestKit.Rules, out var normalized));
        Assert.Equal(expected, normalized);
    }

    [Fact]
    public void Normalize_PhoneV1_PutsTheCallingCodeInFrontOfANationalPrefix()
    {
        // Version 1 is kept for rotation windows; this is the split issue 16 describes, which v2 ends.
        Assert.True(IdentifierNormalizer.TryNormalize(IdentifierType.Phone, "1 212 555 0100", V1, out var national));
        Assert.True(IdentifierNormalizer.TryNormalize(IdentifierType.Phone, "+1 212 555 0100", V1, out var international));
        Assert.Equal("+112125550100", national);
        Assert.Equal("+12125550100", international);
        Assert.True(IdentifierNormalizer.TryNormalize(IdentifierType.Phone, " +44 (0)20 7946 0958 ", V1, out var uk));
        Assert.Equal("+4402079460958", uk);
        Assert.True(IdentifierNormalizer.TryNormalize(IdentifierType.Phone, "030 901820", NormalizationRules.For(NormalizationRules.V1, "DE"), out var de));
        Assert.Equal("+49030901820", de);
    }

    [Theory]
    [InlineData("+1234567", false)] // 7 digits
    [InlineData("+12345678", true)] // 8 digits
    [InlineData("+123456789012345", true)] // 15 digits
    [InlineData("+1234567890123456", false)] // 16 digits
    [InlineData("1234567", true)] // 7 + country code 1 = 8
    [InlineData("123456", false)] // 6 + 1 = 7
    [InlineData("00123456789012345", true)] // 00 + 15
    [InlineData("0012345678901234567", false)]
    public void Normalize_PhoneV1DigitCount_ValidFrom8To15(string raw, bool valid) =>
        Assert.Equal(valid, IdentifierNormalizer.TryNormalize(IdentifierType.Phone, raw, V1, out _));

    [Theory]
    [InlineData("")]
    [InlineData("+")]
    [InlineData("555-CALL-NOW")]
    [InlineData("+1 555 010 4477 ext. 12")]
    [InlineData("+1 555 010 4477 x12")]
    [InlineData("++15550104477")]
    [InlineData("1+5550104477")]
    [InlineData("+0 555 010 4477")]
    [InlineData("000 555 010 4477")]
    [InlineData("٥٥٥٠١٠٤٤٧٧٠")]
    public void Normalize_InvalidPhone_Fails(string raw)
    {
        Assert.False(IdentifierNormalizer.TryNormalize(IdentifierType.Phone, raw, IngestTestKit.Rules, out _));
        Assert.False(IdentifierNormalizer.TryNormalize(IdentifierType.Phone, raw, V1, out _));
    }

    [Fact]
    public void Normalize_PhoneWithThousandsOfDigits_FailsWithoutOverflow() =>
        Assert.False(IdentifierNormalizer.TryNormalize(IdentifierType.Phone, new string('5', 10_000), IngestTestKit.Rules, out _));

    [Theory]
    [InlineData(" ab-12345 ", "AB-12345")]
    [InlineData("x", "X")]
    public void Normalize_Loyalty_TrimsAndUpperCases(string raw, string expected)
    {
        Assert.True(IdentifierNormalizer.TryNormalize(IdentifierType.Loyalty, raw, IngestTestKit.Rules, out var normalized));
        Assert.Equal(expected, normalized);
    }

    [Fact]
    public void Normalize_Device_OnlyTrims()
    {
        Assert.True(IdentifierNormalizer.TryNormalize(IdentifierType.Device, " Cookie-ABC ", IngestTestKit.Rules, out var normalized));
        Assert.Equal("Cookie-ABC", normalized);
    }

    [Theory]
    [InlineData(IdentifierType.Loyalty)]
    [InlineData(IdentifierType.Device)]
    public void Normalize_BlankLoyaltyOrDevice_Fails(IdentifierType type) =>
        Assert.False(IdentifierNormalizer.TryNormalize(type, " \t ", IngestTestKit.Rules, out _));

    [Theory]
    [InlineData("twitter:@JaneDoe", "twitter:janedoe")]
    [InlineData("twitter:JaneDoe", "twitter:janedoe")]
    [InlineData("reddit: @@odd ", "reddit:@odd")]
    [InlineData("instagram:Zoë", "instagram:zoë")]
    [InlineData("tiktok:a:b", "tiktok:a:b")]
    public void Normalize_Social_LowerCasesAndRemovesOneAt(string raw, string expected)
    {
        Assert.True(IdentifierNormalizer.TryNormalize(IdentifierType.Social, raw, IngestTestKit.Rules, out var normalized));
        Assert.Equal(expected, normalized);
    }

    [Theory]
    [InlineData("JaneDoe")]
    [InlineData("Twitter:JaneDoe")]
    [InlineData("myspace:JaneDoe")]
    [InlineData("twitter:")]
    [InlineData("twitter:@")]
    [InlineData("twitter: @ ")]
    [InlineData("twitter:@@")]
    public void Normalize_InvalidSocial_Fails(string raw) =>
        Assert.False(IdentifierNormalizer.TryNormalize(IdentifierType.Social, raw, IngestTestKit.Rules, out _));
}
