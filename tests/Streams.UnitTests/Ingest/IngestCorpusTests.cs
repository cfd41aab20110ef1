using System.Text;
using System.Text.Json;
using Streams.Contracts;
using Streams.Contracts.Quarantine;
using Streams.Ingest;
using Streams.Ingest.Quarantine;
using Streams.Ingest.Validation;
using static Streams.UnitTests.Ingest.IngestTestKit;

namespace Streams.UnitTests.Ingest;

/// <summary>
/// Ingest judges every sample of <c>tests/corpus/</c> as its <c>expect</c> block says: the same reason codes (so the
/// same schema verdict as the JSON Schemas) and the same disposition.
/// </summary>
public sealed class IngestCorpusTests
{
    private static readonly IngestPipeline Judge = Pipeline();

    public static TheoryData<string> Samples
    {
        get
        {
            var data = new TheoryData<string>();
            foreach (var channel in Enum.GetValues<Channel>())
            {
                var dir = Path.Combine(CorpusDir, Name(channel));
                foreach (var file in Directory.Exists(dir) ? Directory.GetFiles(dir, "*.json").Order(StringComparer.Ordinal) : Enumerable.Empty<string>())
                {
                    data.Add($"{Name(channel)}/{Path.GetFileName(file)}");
                }
            }

            return data;
        }
    }

    private static string CorpusDir
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Streams.sln")))
                {
                    return Path.Combine(dir.FullName, "tests", "corpus");
                }
            }

            throw new InvalidOperationException($"No Streams.sln above {AppContext.BaseDirectory}");
        }
    }

    [Theory]
    [MemberData(nameof(Samples))]
    public void Process_CorpusSample_MatchesExpectation(string sample)
    {
        var channel = Enum.Parse<Channel>(sample[..sample.IndexOf('/', StringComparison.Ordinal)], ignoreCase: true);
        using var file = JsonDocument.Parse(File.ReadAllText(Path.Combine(CorpusDir, sample)));
        var root = file.RootElement;
        var value = root.TryGetProperty("value", out var v) ? Encoding.UTF8.GetBytes(v.GetRawText()) : Encoding.UTF8.GetBytes(root.GetProperty("raw").GetString()!);
        var expect = root.GetProperty("expect");
        var expectedCodes = expect.GetProperty("codes").EnumerateArray().Select(c => c.GetString()!).ToArray();

        var outcome = Judge.Process(channel, Source, value);

        Assert.Equal(expectedCodes, outcome.ReasonCodes.Order(StringComparer.Ordinal));
        Assert.Equal(expect.GetProperty("schema_valid").GetBoolean(), !ReasonCodes.IsSchemaInvalid(outcome.ReasonCodes));
        Assert.Equal(expect.GetProperty("disposition").GetString(), Disposition(outcome));
    }

    [Fact]
    public void Corpus_IsPresent() => Assert.NotEmpty(Samples);

    /// <summary>The corpus names the quarantine record's disposition when there is one, "anonymous" for a clean anonymous sale.</summary>
    private static string Disposition(IngestOutcome outcome) => outcome switch
    {
        { Quarantine.Disposition: QuarantineDisposition.Quarantined } => "quarantined",
        { Quarantine.Disposition: QuarantineDisposition.Flagged } => "flagged",
        { Disposition: IngestDisposition.AnonymousSale } => "anonymous",
        _ => "accepted",
    };

    private static string Name(Channel channel) => channel.ToString().ToLowerInvariant();
}
