using Streams.Quality;
using Streams.Quality.Alerts;
using Streams.Quality.Figures;

namespace Streams.UnitTests.Quality;

public sealed class AlertRulesTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 4, 12, 0, 30, TimeSpan.Zero);
    private static readonly HashSet<string> NoneExempt = [];

    private static AlertRulesOptions Rules(Action<AlertRulesOptions>? change = null)
    {
        var rules = new AlertRulesOptions { Window = TimeSpan.FromMinutes(5), Baseline = TimeSpan.FromMinutes(60), SilentAfter = null };
        change?.Invoke(rules);
        return rules;
    }

    /// <summary>A one-minute window <paramref name="minutesAgo"/> minutes before the current minute.</summary>
    private static QualityMinute Window(int minutesAgo, long inputs, long quarantined = 0, params (string Code, long Count)[] reasons)
    {
        var start = new DateTimeOffset(Now.Year, Now.Month, Now.Day, Now.Hour, Now.Minute, 0, TimeSpan.Zero) - TimeSpan.FromMinutes(minutesAgo);
        return QualityMinute.Of("store", start, TimeSpan.FromMinutes(1),
            new QualityFigures(inputs, quarantined, 0, reasons.ToDictionary(r => r.Code, r => r.Count)));
    }

    private static IReadOnlyList<AlertCondition> Evaluate(AlertRulesOptions rules, params QualityMinute[] windows) =>
        AlertRules.Evaluate(rules, Now, Now - TimeSpan.FromHours(2), new Dictionary<string, IReadOnlyList<QualityMinute>> { ["store"] = windows }, NoneExempt);

    [Theory]
    [InlineData(100, 21, true)]
    [InlineData(100, 20, false)]
    [InlineData(19, 19, false)]
    public void QuarantinedShare_AboveThresholdWithEnoughInputs_Holds(long inputs, long quarantined, bool holds)
    {
        var conditions = Evaluate(Rules(), Window(1, inputs / 2, quarantined / 2), Window(0, inputs - (inputs / 2), quarantined - (quarantined / 2)));
        Assert.Equal(holds, conditions.Any(c => c.Rule == AlertRules.QuarantinedShare && c.Id == "quarantined_share/store"));
    }

    [Fact]
    public void QuarantinedShare_OnlyCountsTheRecentWindow()
    {
        // Everything quarantined ten minutes ago, clean since.
        var conditions = Evaluate(Rules(), Window(10, 100, 100), Window(1, 50), Window(0, 50));
        Assert.DoesNotContain(conditions, c => c.Rule == AlertRules.QuarantinedShare);
    }

    [Fact]
    public void NewReasonCode_SeenNowNotInABaselineWithTraffic_Holds_ButNotOnAFreshStart()
    {
        var baseline = Window(20, 100, 1, ("schema_violation", 1));
        var now = Window(0, 10, 1, ("unknown_currency", 1));
        var condition = Assert.Single(Evaluate(Rules(), baseline, now));
        Assert.Equal("new_reason_code/store/unknown_currency", condition.Id);
        Assert.Empty(Evaluate(Rules(), now));
        Assert.Empty(Evaluate(Rules(r => r.NewReasonCode = false), baseline, now));
    }

    [Theory]
    [InlineData(12, true)]
    [InlineData(11, false)]
    public void ReasonRising_RecentRateAtFactorTimesBaselineRate_Holds(long recent, bool holds)
    {
        // Baseline: 48 in 60 minutes = 0.8/min; factor 3 → 2.4/min → 12 in the 5-minute window.
        var conditions = Evaluate(Rules(r => r.MinReasonCount = 10), Window(30, 1000, 48, ("invalid_email", 48)), Window(0, 1000, recent, ("invalid_email", recent)));
        Assert.Equal(holds, conditions.Any(c => c.Id == "reason_rising/store/invalid_email"));
    }

    [Fact]
    public void ReasonRising_BelowMinimumCount_DoesNotHold()
    {
        var conditions = Evaluate(Rules(r => r.MinReasonCount = 50), Window(30, 1000, 1, ("invalid_email", 1)), Window(0, 1000, 40, ("invalid_email", 40)));
        Assert.DoesNotContain(conditions, c => c.Rule == AlertRules.ReasonRising);
    }

    [Fact]
    public void TopicSilent_LongerThanExpected_Holds_UnlessExempt()
    {
        var rules = Rules(r => r.SilentAfter = TimeSpan.FromMinutes(15));
        Assert.Contains(Evaluate(rules, Window(20, 5)), c => c.Id == "topic_silent/store");
        Assert.DoesNotContain(Evaluate(rules, Window(10, 5)), c => c.Rule == AlertRules.TopicSilent);
        var exempt = AlertRules.Evaluate(rules, Now, Now - TimeSpan.FromHours(2),
            new Dictionary<string, IReadOnlyList<QualityMinute>> { ["store"] = [Window(20, 5)] }, new HashSet<string> { "store" });
        Assert.Empty(exempt);
    }

    [Fact]
    public void TopicSilent_NeverSeen_CountsFromWhenWatchingBegan()
    {
        var rules = Rules(r => r.SilentAfter = TimeSpan.FromMinutes(15));
        var history = new Dictionary<string, IReadOnlyList<QualityMinute>> { ["store"] = [] };
        Assert.Empty(AlertRules.Evaluate(rules, Now, Now - TimeSpan.FromMinutes(10), history, NoneExempt));
        Assert.Single(AlertRules.Evaluate(rules, Now, Now - TimeSpan.FromMinutes(16), history, NoneExempt));
    }

    [Fact]
    public void Tracker_RaisesOnce_ClearsOnce_WhenTheConditionEnds()
    {
        var tracker = new AlertTracker();
        var condition = new AlertCondition(AlertRules.QuarantinedShare, "store", null, 0.5, 0.2, "m");
        var raised = Assert.Single(tracker.Update([condition], Now));
        Assert.Equal((QualityAlert.Raised, "quarantined_share/store"), (raised.State, raised.AlertId));
        Assert.Empty(tracker.Update([condition with { Value = 0.6 }], Now.AddSeconds(10)));
        var cleared = Assert.Single(tracker.Update([], Now.AddSeconds(20)));
        Assert.Equal((QualityAlert.Cleared, Now, Now.AddSeconds(20)), (cleared.State, cleared.RaisedAt, cleared.At));
        Assert.Empty(tracker.Update([], Now.AddSeconds(30)));
        Assert.Empty(tracker.Active);
    }
}
