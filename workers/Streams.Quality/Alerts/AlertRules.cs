using System.Globalization;
using Streams.Quality.Figures;

namespace Streams.Quality.Alerts;

/// <summary>
/// The alert rules: pure functions of the windowed figures and the time, so a restart (the figures come back from the
/// store's changelog) judges the same history the same way.
/// </summary>
public static class AlertRules
{
    public const string QuarantinedShare = "quarantined_share";
    public const string NewReasonCode = "new_reason_code";
    public const string ReasonRising = "reason_rising";
    public const string TopicSilent = "topic_silent";

    /// <summary>How far back <see cref="Evaluate"/> needs figures.</summary>
    public static TimeSpan Lookback(AlertRulesOptions rules)
    {
        ArgumentNullException.ThrowIfNull(rules);
        var reasons = rules.Window + rules.Baseline;
        return rules.SilentAfter is { } silent && silent > reasons ? silent : reasons;
    }

    /// <summary>
    /// The conditions that hold at <paramref name="now"/>. <paramref name="history"/> holds, per watched input topic, its
    /// windows within <see cref="Lookback"/>; <paramref name="watchingSince"/> is when figures began to be kept (a topic with
    /// no input since then has been silent since then); the silence rule skips <paramref name="silenceExempt"/>.
    /// </summary>
    public static IReadOnlyList<AlertCondition> Evaluate(
        AlertRulesOptions rules, DateTimeOffset now, DateTimeOffset watchingSince, IReadOnlyDictionary<string, IReadOnlyList<QualityMinute>> history,
        IReadOnlySet<string> silenceExempt)
    {
        ArgumentNullException.ThrowIfNull(silenceExempt);
        ArgumentNullException.ThrowIfNull(rules);
        ArgumentNullException.ThrowIfNull(history);
        var recentFrom = now - rules.Window;
        var baselineFrom = recentFrom - rules.Baseline;
        var conditions = new List<AlertCondition>();
        foreach (var (topic, windows) in history.OrderBy(h => h.Key, StringComparer.Ordinal))
        {
            // A window belongs to the recent period when it ends after its start: a partly elapsed window counts as recent.
            var recent = Sum(windows.Where(w => w.WindowEnd > recentFrom && w.WindowStart <= now));
            var baseline = Sum(windows.Where(w => w.WindowEnd <= recentFrom && w.WindowStart >= baselineFrom));

            if (rules.QuarantinedShareAbove is { } limit && recent.Inputs >= rules.MinInputs && recent.QuarantinedShare > limit)
            {
                var share = recent.QuarantinedShare.Value;
                conditions.Add(new AlertCondition(QuarantinedShare, topic, null, share, limit, Invariant(
                    $"{topic}: {share:P1} of {recent.Inputs} records quarantined in the last {Minutes(rules.Window)}, above {limit:P1}")));
            }

            foreach (var (code, count) in recent.Reasons.OrderBy(r => r.Key, StringComparer.Ordinal))
            {
                var before = baseline.Reasons.GetValueOrDefault(code);
                if (rules.NewReasonCode && before == 0 && count > 0 && baseline.Inputs > 0)
                {
                    // Only against a baseline that saw traffic: on a fresh start every code would otherwise be "new".
                    conditions.Add(new AlertCondition(NewReasonCode, topic, code, count, 0, Invariant(
                        $"{topic}: reason {code} appeared ({count} records in the last {Minutes(rules.Window)}), not seen in the {Minutes(rules.Baseline)} before")));
                }
                else if (rules.ReasonRiseFactor is { } factor && before > 0 && count >= rules.MinReasonCount)
                {
                    var ratio = count / rules.Window.TotalMinutes / (before / rules.Baseline.TotalMinutes);
                    // Compared cross-multiplied, so a rate exactly at the factor is not lost to a rounded division.
                    if (count * rules.Baseline.TotalMinutes >= factor * before * rules.Window.TotalMinutes)
                    {
                        conditions.Add(new AlertCondition(ReasonRising, topic, code, ratio, factor, Invariant(
                            $"{topic}: reason {code} at {ratio:0.#} times its rate of the {Minutes(rules.Baseline)} before ({count} records in the last {Minutes(rules.Window)})")));
                    }
                }
            }

            if (rules.SilentAfter is { } after && !silenceExempt.Contains(topic))
            {
                var lastSeen = windows.Where(w => w.Inputs > 0 || w.Flagged > 0).Select(w => (DateTimeOffset?)Min(w.WindowEnd, now)).Max()
                               ?? watchingSince;
                var silent = now - lastSeen;
                if (silent > after)
                {
                    conditions.Add(new AlertCondition(TopicSilent, topic, null, Math.Round(silent.TotalMinutes, 1), after.TotalMinutes, Invariant(
                        $"{topic}: no input for {Minutes(silent)}, expected within {Minutes(after)}")));
                }
            }
        }

        return conditions;
    }

    private static QualityFigures Sum(IEnumerable<QualityMinute> windows) =>
        windows.Select(w => w.ToFigures()).Aggregate(QualityFigures.Empty, QualityFigures.Add);

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;

    private static string Minutes(TimeSpan span) => Invariant($"{span.TotalMinutes:0.#} min");

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

/// <summary>
/// The alerts in force: turns each evaluation's conditions into raised and cleared records. An alert is raised once
/// when its condition starts to hold and cleared once when it stops; in between nothing is sent.
/// </summary>
public sealed class AlertTracker
{
    private readonly Dictionary<string, QualityAlert> active = new(StringComparer.Ordinal);

    /// <summary>The alerts raised and not yet cleared.</summary>
    public IReadOnlyCollection<QualityAlert> Active => active.Values;

    public IReadOnlyList<QualityAlert> Update(IReadOnlyList<AlertCondition> conditions, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(conditions);
        var changes = new List<QualityAlert>();
        var holding = conditions.ToDictionary(c => c.Id, StringComparer.Ordinal);
        foreach (var (id, alert) in active.OrderBy(a => a.Key, StringComparer.Ordinal).ToList())
        {
            if (!holding.ContainsKey(id))
            {
                active.Remove(id);
                changes.Add(alert with { State = QualityAlert.Cleared, At = now, Message = "cleared: " + alert.Message });
            }
        }

        foreach (var condition in conditions)
        {
            if (!active.ContainsKey(condition.Id))
            {
                var alert = new QualityAlert(condition.Id, condition.Rule, condition.Topic, condition.ReasonCode, QualityAlert.Raised,
                    condition.Value, condition.Threshold, condition.Message, now, now);
                active[condition.Id] = alert;
                changes.Add(alert);
            }
        }

        return changes;
    }
}
