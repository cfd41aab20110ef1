using System.Text.Json;
using Json.Schema;
using Streams.Quality.Alerts;
using Streams.Quality.Figures;

namespace Streams.UnitTests.Quality;

/// <summary>What the quality worker writes is what its schemas in <c>schemas/</c> say.</summary>
public sealed class QualitySchemaTests
{
    private static readonly DateTimeOffset At = new(2026, 12, 4, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void QualityMinute_AsWritten_MatchesItsSchema()
    {
        var minute = QualityMinute.Of("store", At, TimeSpan.FromMinutes(1),
            QualityFigures.Add(QualityFigures.Input, QualityFigures.QuarantineRecord(flagged: false, ["unknown_currency"])));
        AssertValid("data-quality", new QualityMinuteSerDes().Serialize(minute, default));
        AssertValid("data-quality", new QualityMinuteSerDes().Serialize(QualityMinute.Of("store", At, TimeSpan.FromMinutes(1), QualityFigures.Empty), default));
    }

    [Fact]
    public void Alert_AsWritten_MatchesItsSchema()
    {
        var tracker = new AlertTracker();
        var raised = tracker.Update([new AlertCondition(AlertRules.NewReasonCode, "store", "unknown_currency", 3, 0, "m")], At).Single();
        var cleared = tracker.Update([], At.AddMinutes(1)).Single();
        foreach (var alert in new[] { raised, cleared, raised with { ReasonCode = null, Rule = AlertRules.TopicSilent } })
        {
            AssertValid("data-quality-alert", JsonSerializer.SerializeToUtf8Bytes(alert, QualityJsonContext.Default.QualityAlert));
        }
    }

    private static void AssertValid(string schemaName, byte[] value)
    {
        var schema = JsonSchema.FromText(File.ReadAllText(Path.Combine(RepositoryRoot(), "schemas", schemaName + ".schema.json")),
            new BuildOptions { SchemaRegistry = new SchemaRegistry() });
        using var document = JsonDocument.Parse(value);
        var result = schema.Evaluate(document.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
        Assert.True(result.IsValid, System.Text.Encoding.UTF8.GetString(value) + " " + string.Join("; ",
            (result.Details ?? []).Where(d => d.Errors is not null).SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Value}"))));
    }

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !Directory.Exists(Path.Combine(dir.FullName, "schemas")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new DirectoryNotFoundException("schemas/ not found above the test binaries");
    }
}
