using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Json.Schema;
using Xunit.Abstractions;

namespace Streams.UnitTests.Schemas;

/// <summary>
/// The JSON Schemas in <c>schemas/</c> and the sample corpus in <c>tests/corpus/</c> agree: every schema is a valid,
/// documented draft 2020-12 schema, and every sample's schema verdict is the one its <c>expect</c> block states.
/// The ingest code is held to the same <c>expect</c> blocks (verdict, reason codes, disposition) by its own tests.
/// </summary>
public sealed partial class SchemaCorpusTests
{
    private const string Draft202012 = "https://json-schema.org/draft/2020-12/schema";
    private const string IdPrefix = "https://schemas.streams.example/";
    private const int MinSamplesPerTopic = 15;

    private static readonly string[] InputTopics = ["clickstream", "store", "callcenter", "social", "consent"];

    private static readonly string[] OutputSchemas =
        ["quarantine-record", "profile", "profile-merge", "segment-assignment", "segment-catalog", "activation-request", "activation-response", "data-quality",
         "data-quality-alert"];

    /// <summary>Every reason code of CONTRACT.md section 4 that ingest decides from one record alone.</summary>
    private static readonly string[] IngestCodes =
    [
        "malformed_json", "schema_violation", "invalid_email", "invalid_phone",
        "future_timestamp", "out_of_range", "unknown_currency", "total_mismatch",
    ];

    /// <summary>Codes that make a value schema-invalid; every other code leaves it schema-valid.</summary>
    private static readonly string[] SchemaCodes = ["malformed_json", "schema_violation", "out_of_range"];

    /// <summary>Codes that only flag a record (the event is still used) unless nothing is left to identify it.</summary>
    private static readonly string[] FlagCodes = ["invalid_email", "invalid_phone", "total_mismatch"];

    private static readonly string[] Dispositions = ["accepted", "flagged", "quarantined", "anonymous"];

    /// <summary>Fields that carry personal data and must say so (CONTRACT.md sections 2 and 3).</summary>
    private static readonly Dictionary<string, string[]> PersonalFields = new()
    {
        ["clickstream"] = ["anonymous_id", "email", "url", "ip", "user_agent"],
        ["store"] = ["loyalty_id", "email", "phone", "customer_name"],
        ["callcenter"] = ["phone", "email", "customer_name", "transcript"],
        ["social"] = ["handle", "email", "text"],
        ["consent"] = ["identifier"],
        ["quarantine-record"] = ["record"],
        ["profile"] = ["identifiers"],
        ["activation-request"] = [],
    };

    private static readonly string[] SubschemaKeywords =
        ["items", "additionalProperties", "not", "if", "then", "else", "contains", "propertyNames", "unevaluatedProperties", "unevaluatedItems"];

    private static readonly string[] SubschemaArrayKeywords = ["allOf", "anyOf", "oneOf", "prefixItems"];

    private static readonly Lazy<string> Root = new(FindRepoRoot);

    // One lazy build per topic, so a broken schema fails only its own topic's samples.
    private static readonly Dictionary<string, Lazy<JsonSchema>> InputSchemas = InputTopics.ToDictionary(
        t => t,
        t => new Lazy<JsonSchema>(() => BuildSchema(File.ReadAllText(Path.Combine(SchemasDir, t + ".schema.json")))));

    private readonly ITestOutputHelper output;

    public SchemaCorpusTests(ITestOutputHelper output) => this.output = output;

    private static string SchemasDir => Path.Combine(Root.Value, "schemas");

    private static string CorpusDir => Path.Combine(Root.Value, "tests", "corpus");

    public static TheoryData<string> SchemaFiles
    {
        get
        {
            var data = new TheoryData<string>();
            foreach (var name in InputTopics.Concat(OutputSchemas))
            {
                data.Add(name + ".schema.json");
            }

            return data;
        }
    }

    public static TheoryData<string> CorpusSamples
    {
        get
        {
            var data = new TheoryData<string>();
            foreach (var sample in AllSamplePaths())
            {
                data.Add(sample);
            }

            return data;
        }
    }

    [Fact]
    public void SchemasFolderHoldsExactlyTheContractSchemas()
    {
        var expected = InputTopics.Concat(OutputSchemas).Select(n => n + ".schema.json").Order(StringComparer.Ordinal).ToArray();
        var actual = Directory.GetFiles(SchemasDir, "*.json").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(expected, actual);
    }

    [Theory]
    [MemberData(nameof(SchemaFiles))]
    public void SchemaIsValidDraft202012WithIdAndTitle(string file)
    {
        var text = File.ReadAllText(Path.Combine(SchemasDir, file));
        using var doc = JsonDocument.Parse(text);
        var root = doc.RootElement;

        Assert.Equal(Draft202012, GetString(root, "$schema"));
        Assert.Equal(IdPrefix + file, GetString(root, "$id"));
        Assert.False(string.IsNullOrWhiteSpace(GetString(root, "title")), $"{file}: title missing");
        Assert.False(string.IsNullOrWhiteSpace(GetString(root, "description")), $"{file}: description missing");
        Assert.Equal("object", GetString(root, "type"));

        var meta = MetaSchemas.Draft202012.Evaluate(root, ListOutput());
        Assert.True(meta.IsValid, $"{file} is not a valid draft 2020-12 schema:{Environment.NewLine}{Describe(meta)}");

        // Building resolves every $ref and checks every keyword value.
        var schema = BuildSchema(text);
        Assert.NotNull(schema);
    }

    [Theory]
    [MemberData(nameof(SchemaFiles))]
    public void EveryPropertyHasADescription(string file)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(SchemasDir, file)));
        var missing = new List<string>();
        var properties = 0;
        CheckDescriptions(doc.RootElement, "#", missing, ref properties);

        Assert.True(properties > 0, $"{file} declares no properties");
        Assert.True(missing.Count == 0, $"{file}: no description at {string.Join(", ", missing)}");
    }

    [Theory]
    [MemberData(nameof(SchemaFiles))]
    public void PersonalDataIsAnnotatedAndExplained(string file)
    {
        var name = file[..^".schema.json".Length];
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(SchemasDir, file)));
        var props = doc.RootElement.GetProperty("properties");

        foreach (var field in PersonalFields.GetValueOrDefault(name, []))
        {
            Assert.True(props.TryGetProperty(field, out var prop), $"{file}: personal field '{field}' is not declared");
            Assert.True(
                prop.TryGetProperty("x-personal-data", out var flag) && flag.ValueKind == JsonValueKind.True,
                $"{file}: '{field}' lacks \"x-personal-data\": true");
        }

        // Wherever the annotation is used, it is true and the description says so in words.
        var problems = new List<string>();
        CheckPersonalAnnotations(doc.RootElement, "#", problems);
        Assert.True(problems.Count == 0, $"{file}: {string.Join("; ", problems)}");
    }

    [Theory]
    [MemberData(nameof(CorpusSamples))]
    public void SampleSchemaVerdictMatchesExpectation(string sample)
    {
        var (topic, root) = LoadSample(sample);
        var expected = root.GetProperty("expect").GetProperty("schema_valid").GetBoolean();
        var schema = InputSchemas[topic].Value;

        bool actual;
        string why;
        if (root.TryGetProperty("value", out var value))
        {
            var result = schema.Evaluate(value, ListOutput());
            actual = result.IsValid;
            why = Describe(result);
        }
        else
        {
            var raw = root.GetProperty("raw").GetString() ?? string.Empty;
            try
            {
                using var parsed = JsonDocument.Parse(raw);
                var result = schema.Evaluate(parsed.RootElement, ListOutput());
                actual = result.IsValid;
                why = Describe(result);
            }
            catch (JsonException ex)
            {
                actual = false;
                why = "not parseable: " + ex.Message;
            }
        }

        Assert.True(
            expected == actual,
            $"sample {sample}: expect.schema_valid is {Lower(expected)} but {topic}.schema.json says {Lower(actual)}{Environment.NewLine}{why}");
    }

    [Theory]
    [MemberData(nameof(CorpusSamples))]
    public void SampleExpectationIsPreciseAndConsistent(string sample)
    {
        var (_, root) = LoadSample(sample);
        var fileName = Path.GetFileName(sample);
        Assert.Matches(SampleFileName(), fileName);

        Assert.False(string.IsNullOrWhiteSpace(GetString(root, "description")), $"sample {sample}: description missing");
        var hasValue = root.TryGetProperty("value", out var value);
        var hasRaw = root.TryGetProperty("raw", out var raw);
        Assert.True(hasValue ^ hasRaw, $"sample {sample}: exactly one of value and raw is required");
        if (hasValue)
        {
            Assert.True(value.ValueKind == JsonValueKind.Object, $"sample {sample}: value must be a JSON object (use raw otherwise)");
        }
        else
        {
            Assert.True(raw.ValueKind == JsonValueKind.String, $"sample {sample}: raw must be a string");
        }

        var expect = root.GetProperty("expect");
        var schemaValid = expect.GetProperty("schema_valid").GetBoolean();
        var codes = expect.GetProperty("codes").EnumerateArray().Select(c => c.GetString()!).ToArray();
        var disposition = expect.GetProperty("disposition").GetString();

        Assert.True(codes.All(IngestCodes.Contains), $"sample {sample}: unknown or undecidable code in [{string.Join(", ", codes)}]");
        Assert.True(
            codes.SequenceEqual(codes.Distinct().Order(StringComparer.Ordinal)),
            $"sample {sample}: codes must be sorted alphabetically without duplicates");
        Assert.Contains(disposition, Dispositions);

        // Schema-invalid exactly when ingest reports malformed_json, schema_violation or out_of_range.
        Assert.True(
            schemaValid == !codes.Any(SchemaCodes.Contains),
            $"sample {sample}: schema_valid {Lower(schemaValid)} contradicts codes [{string.Join(", ", codes)}]");
        Assert.True(hasValue || codes.SequenceEqual(["malformed_json"]), $"sample {sample}: a raw sample has exactly the code malformed_json");
        Assert.True(!codes.Contains("malformed_json") || !hasValue, $"sample {sample}: malformed_json needs a raw sample");

        if (codes.Length == 0)
        {
            Assert.True(disposition is "accepted" or "anonymous", $"sample {sample}: a clean sample is accepted or anonymous");
            Assert.True(disposition != "anonymous" || sample.StartsWith("store/", StringComparison.Ordinal), $"sample {sample}: only store sales are anonymous");
        }
        else if (codes.All(FlagCodes.Contains))
        {
            // Flagged, unless the dropped field was the only identifier of the event.
            Assert.True(disposition is "flagged" or "quarantined", $"sample {sample}: flag-only codes give flagged or quarantined");
            Assert.True(
                disposition == "flagged" || !codes.SequenceEqual(["total_mismatch"]),
                $"sample {sample}: total_mismatch alone is always flagged");
        }
        else
        {
            Assert.True(disposition == "quarantined", $"sample {sample}: [{string.Join(", ", codes)}] must be quarantined");
        }
    }

    [Fact]
    public void CorpusCoversEveryTopicAndEveryIngestCode()
    {
        var samples = AllSamplePaths().Select(p => (Path: p, Sample: LoadSample(p))).ToList();
        var report = new StringBuilder();

        foreach (var topic in InputTopics)
        {
            var inTopic = samples.Where(s => s.Sample.Topic == topic).ToList();
            var valid = inTopic.Count(s => s.Sample.Root.GetProperty("expect").GetProperty("schema_valid").GetBoolean());
            report.AppendLine($"{topic}: {inTopic.Count} samples, {valid} schema-valid");
            Assert.True(inTopic.Count >= MinSamplesPerTopic, $"{topic} has {inTopic.Count} samples, at least {MinSamplesPerTopic} required");
            Assert.True(valid > 0 && valid < inTopic.Count, $"{topic} needs both schema-valid and schema-invalid samples");
            Assert.Contains(inTopic, s => Codes(s.Sample.Root).Length == 0);
            Assert.Contains(inTopic, s => Codes(s.Sample.Root).Length > 1);
        }

        foreach (var code in IngestCodes)
        {
            var with = samples.Where(s => Codes(s.Sample.Root).Contains(code)).ToList();
            report.AppendLine($"{code}: {with.Count} samples");
            Assert.True(with.Count > 0, $"no sample for {code}");
            Assert.True(with.Any(s => Codes(s.Sample.Root).Length == 1), $"no sample with {code} alone");
            Assert.True(
                code == "malformed_json" || with.Any(s => Codes(s.Sample.Root).Length > 1),
                $"no sample with {code} combined with another code");
        }

        Assert.Contains(samples, s => Disposition(s.Sample.Root) == "anonymous");
        Assert.Contains(samples, s => Disposition(s.Sample.Root) == "flagged");
        Assert.Contains(samples, s => Disposition(s.Sample.Root) == "quarantined" && Codes(s.Sample.Root).All(FlagCodes.Contains));
        output.WriteLine(report.ToString());
    }

    private static JsonSchema BuildSchema(string text) =>
        // A registry of its own each time: the global one refuses a second schema with the same $id.
        JsonSchema.FromText(text, new BuildOptions { SchemaRegistry = new SchemaRegistry() });

    private static EvaluationOptions ListOutput() => new() { OutputFormat = OutputFormat.List };

    private static IEnumerable<string> AllSamplePaths() =>
        InputTopics
            .Where(t => Directory.Exists(Path.Combine(CorpusDir, t)))
            .SelectMany(t => Directory.GetFiles(Path.Combine(CorpusDir, t), "*.json").Select(f => t + "/" + Path.GetFileName(f)))
            .Order(StringComparer.Ordinal);

    private static (string Topic, JsonElement Root) LoadSample(string relative)
    {
        var topic = relative[..relative.IndexOf('/', StringComparison.Ordinal)];
        var text = File.ReadAllText(Path.Combine(CorpusDir, relative.Replace('/', Path.DirectorySeparatorChar)));
        using var doc = JsonDocument.Parse(text);
        return (topic, doc.RootElement.Clone());
    }

    private static string[] Codes(JsonElement sample) =>
        sample.GetProperty("expect").GetProperty("codes").EnumerateArray().Select(c => c.GetString()!).ToArray();

    private static string? Disposition(JsonElement sample) => sample.GetProperty("expect").GetProperty("disposition").GetString();

    private static string? GetString(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String
            ? v.GetString()
            : null;

    private static void CheckDescriptions(JsonElement schema, string path, List<string> missing, ref int properties)
    {
        if (schema.ValueKind != JsonValueKind.Object)
        {
            return;
        }

        if (schema.TryGetProperty("properties", out var props) && props.ValueKind == JsonValueKind.Object)
        {
            foreach (var prop in props.EnumerateObject())
            {
                properties++;
                var at = $"{path}/properties/{prop.Name}";
                if (string.IsNullOrWhiteSpace(GetString(prop.Value, "description")))
                {
                    missing.Add(at);
                }

                CheckDescriptions(prop.Value, at, missing, ref properties);
            }
        }

        if (schema.TryGetProperty("$defs", out var defs) && defs.ValueKind == JsonValueKind.Object)
        {
            foreach (var def in defs.EnumerateObject())
            {
                var at = $"{path}/$defs/{def.Name}";
                if (string.IsNullOrWhiteSpace(GetString(def.Value, "description")))
                {
                    missing.Add(at);
                }

                CheckDescriptions(def.Value, at, missing, ref properties);
            }
        }

        foreach (var keyword in SubschemaKeywords)
        {
            if (schema.TryGetProperty(keyword, out var sub))
            {
                CheckDescriptions(sub, $"{path}/{keyword}", missing, ref properties);
            }
        }

        foreach (var keyword in SubschemaArrayKeywords)
        {
            if (schema.TryGetProperty(keyword, out var subs) && subs.ValueKind == JsonValueKind.Array)
            {
                var i = 0;
                foreach (var sub in subs.EnumerateArray())
                {
                    CheckDescriptions(sub, $"{path}/{keyword}/{i++}", missing, ref properties);
                }
            }
        }
    }

    private static void CheckPersonalAnnotations(JsonElement node, string path, List<string> problems)
    {
        switch (node.ValueKind)
        {
            case JsonValueKind.Object:
                if (node.TryGetProperty("x-personal-data", out var flag))
                {
                    if (flag.ValueKind != JsonValueKind.True)
                    {
                        problems.Add($"{path}: x-personal-data must be true where present");
                    }

                    var description = GetString(node, "description") ?? string.Empty;
                    if (!description.Contains("Personal data", StringComparison.Ordinal))
                    {
                        problems.Add($"{path}: a personal field's description must say 'Personal data'");
                    }
                }

                foreach (var child in node.EnumerateObject())
                {
                    CheckPersonalAnnotations(child.Value, $"{path}/{child.Name}", problems);
                }

                break;
            case JsonValueKind.Array:
                var i = 0;
                foreach (var child in node.EnumerateArray())
                {
                    CheckPersonalAnnotations(child, $"{path}/{i++}", problems);
                }

                break;
            default:
                break;
        }
    }

    private static string Describe(EvaluationResults results)
    {
        var lines = new List<string>();
        Collect(results, lines);
        return lines.Count == 0 ? "(no error details)" : string.Join(Environment.NewLine, lines);
    }

    private static void Collect(EvaluationResults node, List<string> lines)
    {
        if (node.Errors is { Count: > 0 } errors)
        {
            foreach (var (keyword, message) in errors)
            {
                lines.Add($"  at '{node.InstanceLocation}' ({node.EvaluationPath}): {keyword}: {message}");
            }
        }

        if (node.Details is { } details)
        {
            foreach (var child in details)
            {
                Collect(child, lines);
            }
        }
    }

    private static string Lower(bool value) => value ? "true" : "false";

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Streams.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No Streams.sln above {AppContext.BaseDirectory}");
    }

    [GeneratedRegex(@"^\d{2}-[a-z0-9]+(-[a-z0-9]+)*\.json$")]
    private static partial Regex SampleFileName();
}
