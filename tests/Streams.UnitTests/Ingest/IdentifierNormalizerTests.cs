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
        Assert.True(IdentifierNormalizer.TryNormalize(IdentifierType.Email, raw, "1", out var normalized));
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
        Assert.False(IdentifierNormalizer.TryNormalize(IdentifierType.Email, raw, "1", out _));

    [Fact]
    public void Normalize_EmailLongerThan254_Fails()
    {
        var local = new string('a', 64);
        var domain = string.Join('.', Enumerable.Repeat(new string('b', 60), 4)) + ".com"; // 247 chars
        Assert.False(IdentifierNormalizer.TryNormalize(IdentifierType.Email, $"{local}@{domain}", "1", out _));
        Assert.True(IdentifierNormalizer.TryNormalize(IdentifierType.Email, $"a@{domain}", "1", out _));
    }

    [Theory]
    [InlineData("(555) 010-4477", "+15550104477")]
    [InlineData("555.010.4477", "+15550104477")]
    [InlineData("+1 555 010 4477", "+15550104477")]
    [InlineData(" +44 (0)20 7946 0958 ", "+4402079460958")]
    [InlineData("+49/30/901820", "+4930901820")]
    [InlineData("+4930901820", "+4930901820")]
    public void Normalize_Phone_KeepsPlusAndDigits(string raw, string expected)
    {
        Assert.True(IdentifierNormalizer.TryNormalize(IdentifierType.Phone, raw, "1", out var normalized));
        Assert.Equal(expected, normalized);
    }

    [Fact]
    public void Normalize_PhoneWithDoubleZeroPrefix_BecomesPlus()
    {
        Assert.True(IdentifierNormalizer.TryNormalize(IdentifierType.Phone, "0044 20 7946 0958", "1", out var normalized));
        Assert.Equal("+442079460958", normalized);
    }

    [Fact]
    public void Normalize_PhoneWithoutPrefix_GetsDefaultCountryCode()
    {
        Assert.True(IdentifierNormalizer.TryNormalize(IdentifierType.Phone, "030 901820", "49", out var normalized));
        Assert.Equal("+49030901820", normalized);
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
    public void Normalize_PhoneDigitCount_ValidFrom8To15(string raw, bool valid) =>
        Assert.Equal(valid, IdentifierNormalizer.TryNormalize(IdentifierType.Phone, raw, "1", out _));

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
    public void Normalize_InvalidPhone_Fails(string raw) =>
        Assert.False(IdentifierNormalizer.TryNormalize(IdentifierType.Phone, raw, "1", out _));

    [Fact]
    public void Normalize_PhoneWithThousandsOfDigits_FailsWithoutOverflow() =>
        Assert.False(IdentifierNormalizer.TryNormalize(IdentifierType.Phone, new string('5', 10_000), "1", out _));

    [Theory]
    [InlineData(" ab-12345 ", "AB-12345")]
    [InlineData("x", "X")]
    public void Normalize_Loyalty_TrimsAndUpperCases(string raw, string expected)
    {
        Assert.True(IdentifierNormalizer.TryNormalize(IdentifierType.Loyalty, raw, "1", out var normalized));
        Assert.Equal(expected, normalized);
    }

    [Fact]
    public void Normalize_Device_OnlyTrims()
    {
        Assert.True(IdentifierNormalizer.TryNormalize(IdentifierType.Device, " Cookie-ABC ", "1", out var normalized));
        Assert.Equal("Cookie-ABC", normalized);
    }

    [Theory]
    [InlineData(IdentifierType.Loyalty)]
    [InlineData(IdentifierType.Device)]
    public void Normalize_BlankLoyaltyOrDevice_Fails(IdentifierType type) =>
        Assert.False(IdentifierNormalizer.TryNormalize(type, " \t ", "1", out _));

    [Theory]
    [InlineData("twitter:@JaneDoe", "twitter:janedoe")]
    [InlineData("twitter:JaneDoe", "twitter:janedoe")]
    [InlineData("reddit: @@odd ", "reddit:@odd")]
    [InlineData("instagram:Zoë", "instagram:zoë")]
    [InlineData("tiktok:a:b", "tiktok:a:b")]
    public void Normalize_Social_LowerCasesAndRemovesOneAt(string raw, string expected)
    {
        Assert.True(IdentifierNormalizer.TryNormalize(IdentifierType.Social, raw, "1", out var normalized));
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
        Assert.False(IdentifierNormalizer.TryNormalize(IdentifierType.Social, raw, "1", out _));
}
