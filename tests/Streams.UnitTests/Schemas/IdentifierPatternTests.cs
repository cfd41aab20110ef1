using System.Text.Json;
using Json.Schema;
using Streams.Contracts.Identifiers;
using Streams.Ingest.Pseudonymization;

namespace Streams.UnitTests.Schemas;

/// <summary>
/// The identifier patterns of the input schemas say exactly what ingest checks. They spell out white space as the
/// characters <see cref="char.IsWhiteSpace(char)"/> counts, because <c>\s</c> means something else in every regex
/// engine (ASCII only in .NET's ECMAScript mode, which JsonSchema.Net uses; with U+FEFF and without U+0085 in ECMA-262).
/// Every UTF-16 code unit outside the surrogate range is tried, so a Unicode update on either side shows up here.
/// </summary>
public sealed class IdentifierPatternTests
{
    /// <summary>Where a non-blank pattern stands: the schema and the JSON pointer of the subschema holding it.</summary>
    public static TheoryData<string, string> NonBlankPatterns => new()
    {
        { "clickstream", "/properties/anonymous_id" },
        { "store", "/properties/loyalty_id" },
        { "consent", "/allOf/1/then/properties/identifier" },
    };

    [Theory]
    [MemberData(nameof(NonBlankPatterns))]
    public void NonBlankPattern_MatchesExactlyWhatIngestCountsAsNotBlank(string schema, string pointer)
    {
        var pattern = PatternSchema(schema, pointer);
        var mismatches = EveryCodeUnit()
            .Where(c => Matches(pattern, c.ToString()) != !char.IsWhiteSpace(c))
            .Select(c => $"U+{(int)c:X4}")
            .ToList();

        Assert.True(mismatches.Count == 0, $"{schema}.schema.json {pointer}: pattern and ingest disagree on {string.Join(", ", mismatches)}");
    }

    [Fact]
    public void HandlePattern_MatchesExactlyWhatIngestAcceptsAsAHandle()
    {
        var pattern = PatternSchema("social", "/properties/handle");
        var mismatches = EveryCodeUnit()
            .Where(c => Matches(pattern, c.ToString()) != IdentifierNormalizer.TryNormalizeSocial("twitter", c.ToString(), new char[64], out _))
            .Select(c => $"U+{(int)c:X4}")
            .ToList();

        Assert.True(mismatches.Count == 0, $"social.schema.json handle: pattern and ingest disagree on {string.Join(", ", mismatches)}");
    }

    [Theory]
    [InlineData("twitter:@JaneDoe")]
    [InlineData("reddit:u:jane")]
    [InlineData("instagram:jane doe")]
    [InlineData("tiktok:@@x")]
    [InlineData("facebook:\tjane\n")]
    [InlineData("twitter:\ufeff")]
    [InlineData("@JaneDoe")]
    [InlineData("JaneDoe")]
    [InlineData("Twitter:jane")]
    [InlineData(" twitter:jane")]
    [InlineData("twitterx:jane")]
    [InlineData("x:jane")]
    [InlineData("twitter jane")]
    [InlineData("twitter:")]
    [InlineData("twitter:@")]
    [InlineData("twitter: @ ")]
    [InlineData("twitter:\u00a0@\u3000\u0085")]
    [InlineData("")]
    public void SocialConsentPattern_MatchesWhatIngestCanPseudonymize(string identifier)
    {
        var pattern = PatternSchema("consent", "/allOf/0/then/properties/identifier");
        var ingest = IdentifierNormalizer.TryNormalize(IdentifierType.Social, identifier, NormalizationRules.For(NormalizationRules.Latest, "US"), out _);

        Assert.Equal(ingest, Matches(pattern, identifier));
    }

    private static IEnumerable<char> EveryCodeUnit() =>
        Enumerable.Range(0, char.MaxValue + 1).Select(i => (char)i).Where(c => !char.IsSurrogate(c));

    private static bool Matches(JsonSchema pattern, string text) =>
        pattern.Evaluate(JsonSerializer.SerializeToElement(text)).IsValid;

    /// <summary>A schema holding only the pattern found at <paramref name="pointer"/>, compiled as the corpus tests compile schemas.</summary>
    private static JsonSchema PatternSchema(string schema, string pointer)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(SchemasDir(), schema + ".schema.json")));
        var node = doc.RootElement;
        foreach (var segment in pointer.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            node = node.ValueKind == JsonValueKind.Array ? node[int.Parse(segment, System.Globalization.CultureInfo.InvariantCulture)] : node.GetProperty(segment);
        }

        var pattern = node.GetProperty("pattern").GetString()!;
        var text = JsonSerializer.Serialize(new Dictionary<string, string> { ["type"] = "string", ["pattern"] = pattern });
        return JsonSchema.FromText(text, new BuildOptions { SchemaRegistry = new SchemaRegistry() });
    }

    private static string SchemasDir()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Streams.sln")))
            {
                return Path.Combine(dir.FullName, "schemas");
            }
        }

        throw new InvalidOperationException($"No Streams.sln above {AppContext.BaseDirectory}");
    }
}
