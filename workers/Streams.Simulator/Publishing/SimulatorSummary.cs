using System.Globalization;

namespace Streams.Simulator.Publishing;

/// <summary>The one paragraph a person reads after a finite run.</summary>
public static class SimulatorSummary
{
    public static string Describe(GroundTruth truth, long delivered, long failed, TimeSpan elapsed, string? groundTruthPath)
    {
        ArgumentNullException.ThrowIfNull(truth);
        var c = CultureInfo.InvariantCulture;
        var injected = truth.InjectedPerCode.Values.Sum();
        var perTopic = string.Join(", ", truth.RecordsPerTopic.Select(t => string.Create(c, $"{t.Key} {t.Value:N0}")));
        var perCode = string.Join(", ", truth.InjectedPerCode.Select(t => string.Create(c, $"{t.Key} {t.Value:N0}")));
        var rate = elapsed.TotalSeconds > 0 ? delivered / elapsed.TotalSeconds : 0;
        var consents = truth.Consents.GroupBy(x => x.Action).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => string.Create(c, $"{g.Count():N0} {g.Key}"));
        var failures = failed > 0 ? string.Create(c, $", {failed:N0} could not be written") : "";
        var cards = truth.SharedIdentifiers.Count == 1 ? "card" : "cards";
        var waves = truth.Waves == 1 ? "wave" : "waves";
        var requests = truth.Consents.Count > 0 ? string.Join(", ", consents) : "none";
        var truthAt = groundTruthPath is null ? "" : " Ground truth: " + groundTruthPath;
        return string.Create(c,
            $"Simulated {truth.Records:N0} records for {truth.Customers.Count:N0} customers (run {truth.Run}, seed {truth.Seed}, " +
            $"{truth.Waves} {waves}): {perTopic}. {delivered:N0} were written in {elapsed.TotalSeconds:0.0} s ({rate:N0}/s){failures}. " +
            $"{injected:N0} carry an injected defect ({(perCode.Length > 0 ? perCode : "none")}); " +
            $"{truth.ExpectedIdentityConflicts:N0} identity_conflict expected from {truth.SharedIdentifiers.Count:N0} shared loyalty {cards}; " +
            $"consent requests: {requests}.{truthAt}");
    }
}
