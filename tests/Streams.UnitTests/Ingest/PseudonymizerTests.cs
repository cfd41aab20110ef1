using Microsoft.Extensions.Options;
using Streams.Ingest.Pseudonymization;

namespace Streams.UnitTests.Ingest;

public sealed class PseudonymizerTests
{
    private readonly Pseudonymizer pseudonymizer = IngestTestKit.Pseudonymizer();

    /// <summary>The vectors, computed with an independent HMAC implementation.</summary>
    public static TheoryData<IdentifierType, string, string, string> Vectors => new()
    {
        { IdentifierType.Email, "  Jane.Doe@Example.COM ", "jane.doe@example.com", "k1:39b1afb632528e3dbf5a96cf7207fb42" },
        { IdentifierType.Phone, "(555) 010-4477", "+15550104477", "k1:4a7483cb8600ea29a8c682335d40fe4b" },
        { IdentifierType.Phone, "0044 20 7946 0958", "+442079460958", "k1:85b775e8beb0726d2d10c2e183451788" },
        { IdentifierType.Phone, "+49 30 901820", "+4930901820", "k1:dd4e489f48a960db4720fa8130f7006d" },
        { IdentifierType.Loyalty, " ab-12345 ", "AB-12345", "k1:51b2f34203d3278e6da457319f163790" },
        { IdentifierType.Device, "d3b07384-d9a0-4c9b-8f2e-1c1a5b6e7f80", "d3b07384-d9a0-4c9b-8f2e-1c1a5b6e7f80", "k1:591411f19ea43ad2e64a9e1c3d5054db" },
        { IdentifierType.Social, "twitter:@JaneDoe", "twitter:janedoe", "k1:2c751985afcd86333608a59d1f1e21ad" },
        { IdentifierType.Email, "zoë@exämple.de", "zoë@exämple.de", "k1:fd31985a489599057535021580bbf981" },
    };

    [Theory]
    [MemberData(nameof(Vectors))]
    public void TryPseudonymize_TestVector_MatchesIndependentImplementation(IdentifierType type, string raw, string normalized, string expected)
    {
        Assert.True(IdentifierNormalizer.TryNormalize(type, raw, "1", out var actualNormalized));
        Assert.Equal(normalized, actualNormalized);
        Assert.Equal(expected, pseudonymizer.Pseudonymize(type, normalized));
        Assert.True(pseudonymizer.TryPseudonymize(type, raw, out var pseudonym));
        Assert.Equal(expected, pseudonym);
    }

    [Fact]
    public void TryPseudonymizeSocial_PlatformAndHandle_MatchesVector()
    {
        Assert.True(pseudonymizer.TryPseudonymizeSocial("twitter", "@JaneDoe", out var pseudonym));
        Assert.Equal("k1:2c751985afcd86333608a59d1f1e21ad", pseudonym);
    }

    [Fact]
    public void Pseudonymize_SameValueDifferentType_Differs() =>
        Assert.NotEqual(pseudonymizer.Pseudonymize(IdentifierType.Device, "AB-12345"), pseudonymizer.Pseudonymize(IdentifierType.Loyalty, "AB-12345"));

    [Fact]
    public void Pseudonymize_OtherKey_Differs()
    {
        var options = IngestTestKit.PseudonymizationOptions();
        options.Keys["k2"] = Convert.ToBase64String(Enumerable.Range(100, 32).Select(i => (byte)i).ToArray());
        options.ActiveKeyId = "k2";
        var other = new Pseudonymizer(Options.Create(options));

        var pseudonym = other.Pseudonymize(IdentifierType.Email, "jane.doe@example.com");

        Assert.StartsWith("k2:", pseudonym, StringComparison.Ordinal);
        Assert.NotEqual("39b1afb632528e3dbf5a96cf7207fb42", pseudonym[3..]);
    }

    [Fact]
    public void TryPseudonymize_VeryLongDeviceId_UsesPooledBufferAndStaysDeterministic()
    {
        var raw = new string('x', 100_000);

        Assert.True(pseudonymizer.TryPseudonymize(IdentifierType.Device, raw, out var first));
        Assert.True(pseudonymizer.TryPseudonymize(IdentifierType.Device, raw, out var second));
        Assert.Equal(first, second);
        Assert.Equal(2 + 1 + 32, first.Length);
    }

    [Fact]
    public void TryPseudonymize_InvalidIdentifier_ReturnsFalse() =>
        Assert.False(pseudonymizer.TryPseudonymize(IdentifierType.Email, "not an email", out _));

    [Fact]
    public void TryPseudonymize_InParallel_GivesTheSameResults()
    {
        var results = new string[1000];
        Parallel.For(0, results.Length, i => results[i] = pseudonymizer.Pseudonymize(IdentifierType.Email, "jane.doe@example.com"));
        Assert.All(results, r => Assert.Equal("k1:39b1afb632528e3dbf5a96cf7207fb42", r));
    }

    [Theory]
    [InlineData("", "k1", "1")]
    [InlineData("k1", "", "1")]
    [InlineData("k1", "AAEC", "1")]
    [InlineData("k1", "not base64!", "1")]
    [InlineData("k:1", null, "1")]
    [InlineData("k1", null, "+1")]
    [InlineData("k1", null, "0")]
    [InlineData("k1", null, "1234")]
    public void Constructor_BadConfiguration_Throws(string activeKeyId, string? secret, string countryCode)
    {
        var options = new PseudonymizationOptions { ActiveKeyId = activeKeyId, DefaultCountryCode = countryCode };
        options.Keys[activeKeyId] = secret ?? IngestTestKit.KeyBase64;

        Assert.Throws<OptionsValidationException>(() => new Pseudonymizer(Options.Create(options)));
    }

    [Fact]
    public void Validate_MissingActiveKey_NamesIt()
    {
        var options = new PseudonymizationOptions { ActiveKeyId = "k9" };
        options.Keys["k1"] = IngestTestKit.KeyBase64;

        var result = new PseudonymizationOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains("k9", result.FailureMessage, StringComparison.Ordinal);
    }
}
