using Microsoft.Extensions.Options;
using Streams.Contracts.Identifiers;
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
        // Issue 16: the national-prefix spelling of a number is the same pseudonym as the international one.
        { IdentifierType.Phone, "1 212 555 0100", "+12125550100", "k1:e628b57f1cf18366728c3592773c9be2" },
        { IdentifierType.Phone, "+1 212 555 0100", "+12125550100", "k1:e628b57f1cf18366728c3592773c9be2" },
        { IdentifierType.Phone, "+44 (0)20 7946 0958", "+442079460958", "k1:85b775e8beb0726d2d10c2e183451788" },
    };

    /// <summary>National-prefix spellings in other default regions, computed with an independent HMAC implementation.</summary>
    public static TheoryData<string, string, string> RegionVectors => new()
    {
        { "GB", "020 7946 0958", "k1:85b775e8beb0726d2d10c2e183451788" },
        { "DE", "030 901820", "k1:dd4e489f48a960db4720fa8130f7006d" },
        { "FR", "06 12 34 56 78", "k1:a5553584125b89357c3f32b2840c3481" },
        { "IN", "098765 43210", "k1:21785a642ec61cdb92088ae6b9fc06b0" },
        { "US", "(212) 555-0100", "k1:e628b57f1cf18366728c3592773c9be2" },
    };

    [Theory]
    [MemberData(nameof(RegionVectors))]
    public void TryPseudonymize_NationalPrefixInDefaultRegion_MatchesVector(string region, string raw, string expected)
    {
        var regional = new Pseudonymizer(Options.Create(IngestTestKit.PseudonymizationOptions(region)));
        Assert.True(regional.TryPseudonymize(IdentifierType.Phone, raw, out var pseudonym));
        Assert.Equal(expected, pseudonym);
    }

    private const string KeyB = "ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CBgoM="; // bytes 100..131

    /// <summary>A rotation window: key k1 with normalization v1 before, key k2 with v2 now.</summary>
    private static Pseudonymizer Rotating(string? previousKeyId = "k1", int previousVersion = NormalizationRules.V1)
    {
        var options = IngestTestKit.PseudonymizationOptions();
        options.Keys["k2"] = KeyB;
        options.ActiveKeyId = "k2";
        options.PreviousKeyId = previousKeyId;
        options.PreviousNormalizationVersion = previousVersion;
        return new Pseudonymizer(Options.Create(options));
    }

    [Fact]
    public void TryPseudonymize_RotationWindow_GivesActiveAndPreviousPseudonyms()
    {
        var rotating = Rotating();

        Assert.True(rotating.TryPseudonymize(IdentifierType.Phone, "1 212 555 0100", out var pseudonym, out var previous));
        Assert.Equal("k2:502d4b6a694fa2f88b5890dc5b58ee07", pseudonym); // k2, v2: +12125550100
        Assert.Equal("k1:2697be2c1f322f031cac2cf7fd224994", previous); // k1, v1: +112125550100, as before the rotation

        Assert.True(rotating.TryPseudonymize(IdentifierType.Email, "Jane.Doe@Example.COM", out pseudonym, out previous));
        Assert.Equal("k2:1048a9b2e04513fd2d9c518143cad889", pseudonym);
        Assert.Equal("k1:39b1afb632528e3dbf5a96cf7207fb42", previous);

        Assert.True(rotating.TryPseudonymizeSocial("twitter", "@JaneDoe", out pseudonym, out previous));
        Assert.StartsWith("k2:", pseudonym, StringComparison.Ordinal);
        Assert.Equal("k1:2c751985afcd86333608a59d1f1e21ad", previous);
    }

    [Fact]
    public void TryPseudonymize_OnlyTheNormalizationVersionChanges_PreviousOnlyWhereTheNumberDiffers()
    {
        var options = IngestTestKit.PseudonymizationOptions();
        options.PreviousKeyId = IngestTestKit.KeyId;
        options.PreviousNormalizationVersion = NormalizationRules.V1;
        var upgrading = new Pseudonymizer(Options.Create(options));

        Assert.True(upgrading.TryPseudonymize(IdentifierType.Phone, "1 212 555 0100", out var pseudonym, out var previous));
        Assert.Equal("k1:e628b57f1cf18366728c3592773c9be2", pseudonym);
        Assert.Equal("k1:2697be2c1f322f031cac2cf7fd224994", previous);

        // The same normalized value under the same key is the same pseudonym: nothing to link.
        Assert.True(upgrading.TryPseudonymize(IdentifierType.Phone, "+1 212 555 0100", out pseudonym, out previous));
        Assert.Equal("k1:e628b57f1cf18366728c3592773c9be2", pseudonym);
        Assert.Null(previous);
    }

    [Fact]
    public void TryPseudonymize_NoWindow_HasNoPrevious()
    {
        Assert.True(pseudonymizer.TryPseudonymize(IdentifierType.Phone, "1 212 555 0100", out _, out var previous));
        Assert.Null(previous);
        Assert.Null(pseudonymizer.Previous);
    }

    [Fact]
    public void LookupPseudonyms_EveryConfiguredKeyAndVersion_ActiveFirst()
    {
        var after = Rotating(previousKeyId: null);

        var found = after.LookupPseudonyms(IdentifierType.Phone, "1 212 555 0100");

        Assert.Equal("k2:502d4b6a694fa2f88b5890dc5b58ee07", found[0]);
        Assert.Equal(
            new[] { "k1:2697be2c1f322f031cac2cf7fd224994", "k1:e628b57f1cf18366728c3592773c9be2", "k2:00d3b77bfd3bef085d4ec8ea5189e7ee", "k2:502d4b6a694fa2f88b5890dc5b58ee07" },
            found.Order(StringComparer.Ordinal));
        Assert.Empty(after.LookupPseudonyms(IdentifierType.Phone, "not a number"));
    }

    [Fact]
    public void TryPseudonymize_TwoKeysAlternating_EachKeepsItsOwnMac()
    {
        var rotating = Rotating();
        var results = new string[200];
        Parallel.For(0, results.Length, i =>
        {
            Assert.True(rotating.TryPseudonymize(IdentifierType.Email, "jane.doe@example.com", out var p, out var previous));
            results[i] = p + "|" + previous;
        });
        Assert.All(results, r => Assert.Equal("k2:1048a9b2e04513fd2d9c518143cad889|k1:39b1afb632528e3dbf5a96cf7207fb42", r));
    }

    [Theory]
    [MemberData(nameof(Vectors))]
    public void TryPseudonymize_TestVector_MatchesIndependentImplementation(IdentifierType type, string raw, string normalized, string expected)
    {
        Assert.True(IdentifierNormalizer.TryNormalize(type, raw, IngestTestKit.Rules, out var actualNormalized));
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

    /// <summary>
    /// An identifier too long for the stack is normalized and MACed in buffers rented from the shared pools: they go back
    /// empty, because the pool hands them to any code in the process next. The thread's pool slot returns the array
    /// just returned, so renting the same size right after gets those very buffers.
    /// </summary>
    [Theory]
    [InlineData(600)] // just over the 512 a stack buffer takes
    [InlineData(5_000)]
    public void TryPseudonymize_LongIdentifier_LeavesNoTextInThePooledBuffers(int length)
    {
        // Not string.Concat: it builds its text in a pooled buffer of its own and returns that uncleared.
        var raw = string.Create(length, 0, static (text, _) =>
        {
            for (var i = 0; i < text.Length; i++)
            {
                text[i] = "device-7f3a"[i % 11];
            }
        });

        Assert.True(pseudonymizer.TryPseudonymize(IdentifierType.Device, raw, out _));

        var chars = System.Buffers.ArrayPool<char>.Shared.Rent(length);
        var bytes = System.Buffers.ArrayPool<byte>.Shared.Rent("device:".Length + System.Text.Encoding.UTF8.GetMaxByteCount(length));
        try
        {
            Assert.False(chars.AsSpan().IndexOf("device-7f3a".AsSpan()) >= 0, "the normalized identifier was left in a pooled char buffer");
            Assert.False(bytes.AsSpan().IndexOf("device-7f3a"u8) >= 0, "the HMAC input was left in a pooled byte buffer");
        }
        finally
        {
            System.Buffers.ArrayPool<char>.Shared.Return(chars);
            System.Buffers.ArrayPool<byte>.Shared.Return(bytes);
        }
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
    [InlineData("k1", null, "999")] // not an assigned calling code
    public void Constructor_BadConfiguration_Throws(string activeKeyId, string? secret, string countryCode)
    {
        var options = new PseudonymizationOptions { ActiveKeyId = activeKeyId, DefaultCountryCode = countryCode };
        options.Keys[activeKeyId] = secret ?? IngestTestKit.KeyBase64;

        Assert.Throws<OptionsValidationException>(() => new Pseudonymizer(Options.Create(options)));
    }

    [Theory]
    [InlineData(null, "44", "GB")]
    [InlineData(null, "1", "US")]
    [InlineData("de", null, "DE")]
    [InlineData(null, null, "US")]
    [InlineData("FR", "33", "FR")]
    public void Constructor_DeprecatedCountryCodeOrRegion_GivesTheDefaultRegion(string? region, string? countryCode, string expected)
    {
        var options = IngestTestKit.PseudonymizationOptions();
        (options.DefaultRegion, options.DefaultCountryCode) = (region, countryCode);

        Assert.Equal(expected, new Pseudonymizer(Options.Create(options)).Rules.DefaultRegion);
    }

    [Theory]
    [InlineData("XX", null)]
    [InlineData("GB", "1")]
    public void Constructor_UnknownRegionOrDisagreeingCountryCode_Throws(string region, string? countryCode)
    {
        var options = IngestTestKit.PseudonymizationOptions(region);
        options.DefaultCountryCode = countryCode;

        Assert.Throws<OptionsValidationException>(() => new Pseudonymizer(Options.Create(options)));
    }

    [Theory]
    [InlineData("k9", 1)] // no such key
    [InlineData("k1", 2)] // the active key and version: nothing to link
    [InlineData("k1", 3)] // no such version
    public void Constructor_BadPreviousKey_Throws(string previousKeyId, int previousVersion)
    {
        var options = IngestTestKit.PseudonymizationOptions();
        (options.PreviousKeyId, options.PreviousNormalizationVersion) = (previousKeyId, previousVersion);

        Assert.Throws<OptionsValidationException>(() => new Pseudonymizer(Options.Create(options)));
    }

    [Fact]
    public void Constructor_MoreKeysThanAConsentRequestCanCarry_Throws()
    {
        var options = IngestTestKit.PseudonymizationOptions();
        for (var i = 0; i < PseudonymizationOptionsValidator.MaxKeys; i++)
        {
            options.Keys[$"old{i}"] = KeyB;
        }

        Assert.Throws<OptionsValidationException>(() => new Pseudonymizer(Options.Create(options)));
        options.Keys.Remove("old0");
        // Every key under both versions: as many as the profiles worker accepts in one record (16).
        Assert.Equal(2 * PseudonymizationOptionsValidator.MaxKeys,
            new Pseudonymizer(Options.Create(options)).LookupPseudonyms(IdentifierType.Phone, "1 212 555 0100").Count);
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
