using Streams.Dashboard.Figures;
using static Streams.UnitTests.Dashboard.DashboardTestKit;

namespace Streams.UnitTests.Dashboard;

public sealed class FigureBuilderTests
{
    private static readonly string[] Inputs = ["clickstream", "store", "callcenter", "social", "consent"];

    [Fact]
    public void Topics_TwoSnapshots_RateIsTheIncreaseOverTheInterval()
    {
        var previous = Snapshot(10, ("streams.ingest.records", "store", "accepted", 100), ("streams.ingest.records", "store", "quarantined", 10));
        var current = Snapshot(14, ("streams.ingest.records", "store", "accepted", 180), ("streams.ingest.records", "store", "quarantined", 30));

        var store = FigureBuilder.Topics(previous, current, Inputs).Single(t => t.Topic == "store");

        Assert.Equal(25.0, store.PerSecond); // (210 − 110) / 4 s
        Assert.Equal(210, store.Records);
        Assert.Equal(180, store.Accepted);
        Assert.Equal(30, store.Quarantined);
    }

    [Fact]
    public void Topics_FirstSample_HasNoRate_AndEveryInputTopicInOrder()
    {
        var topics = FigureBuilder.Topics(null, Snapshot(1, ("streams.ingest.records", "social", "flagged", 3)), Inputs);

        Assert.Equal(Inputs, topics.Select(t => t.Topic));
        Assert.All(topics, t => Assert.Null(t.PerSecond));
        Assert.Equal(3, topics.Single(t => t.Topic == "social").Flagged);
        Assert.Equal(0, topics.Single(t => t.Topic == "store").Records);
    }

    [Fact]
    public void Topics_CounterRestartedLower_RateIsNeverNegative()
    {
        var topics = FigureBuilder.Topics(
            Snapshot(0, ("streams.ingest.records", "store", "accepted", 50)), Snapshot(1, ("streams.ingest.records", "store", "accepted", 20)), Inputs);

        Assert.Equal(0.0, topics.Single(t => t.Topic == "store").PerSecond);
    }

    [Fact]
    public void Topics_OutcomesAreCountedApart()
    {
        var current = Snapshot(1,
            ("streams.ingest.records", "store", "accepted", 5), ("streams.ingest.records", "store", "flagged", 4),
            ("streams.ingest.records", "store", "quarantined", 3), ("streams.ingest.records", "store", "duplicate", 2),
            ("streams.ingest.records", "store", "anonymous_sale", 1));

        var store = FigureBuilder.Topics(null, current, Inputs).Single(t => t.Topic == "store");

        Assert.Equal((15L, 5L, 4L, 3L, 2L, 1L), (store.Records, store.Accepted, store.Flagged, store.Quarantined, store.Duplicates, store.AnonymousSales));
    }

    [Fact]
    public void Topics_WithoutSimulatorMeter_HaveNoSimulatorFigures()
    {
        var topics = FigureBuilder.Topics(null, Snapshot(1, ("streams.ingest.records", "store", "accepted", 5)), Inputs);

        Assert.All(topics, t => Assert.Equal((null, null, null), (t.Simulated, t.SimulatedPerSecond, t.Injected)));
    }

    [Fact]
    public void Topics_WithSimulator_CountProducedAndInjectedRecords()
    {
        var previous = Snapshot(0, ("streams.simulator.records", "store", "false", 10));
        var current = Snapshot(2,
            ("streams.simulator.records", "store", "false", 30), ("streams.simulator.records", "store", "true", 6),
            ("streams.simulator.records", "clickstream", "malformed_json", 2), ("streams.simulator.records", "clickstream", "none", 8));

        var topics = FigureBuilder.Topics(previous, current, Inputs);
        var store = topics.Single(t => t.Topic == "store");
        var clicks = topics.Single(t => t.Topic == "clickstream");

        Assert.Equal((36L, 6L, 13.0), (store.Simulated!.Value, store.Injected!.Value, store.SimulatedPerSecond!.Value));
        Assert.Equal((10L, 2L), (clicks.Simulated!.Value, clicks.Injected!.Value));
        Assert.Equal(0, topics.Single(t => t.Topic == "social").Simulated);
    }

    [Fact]
    public void Topics_ATopicOutsideTheInputs_IsListedAfterThem()
    {
        var topics = FigureBuilder.Topics(null, Snapshot(1, ("streams.ingest.records", "legacy", "accepted", 1)), Inputs);

        Assert.Equal([.. Inputs, "legacy"], topics.Select(t => t.Topic));
    }

    [Fact]
    public void Reasons_CountPerCodeAndTopic_InContractOrder_WithIdentityConflictsFromProfiles()
    {
        var current = Snapshot(1,
            ("streams.ingest.reasons", "store", "total_mismatch", 4), ("streams.ingest.reasons", "social", "malformed_json", 2),
            ("streams.ingest.reasons", "store", "malformed_json", 1), ("streams.ingest.reasons", "store", "invalid_email", 3),
            ("streams.ingest.reasons", "store", "brand_new_code", 1), ("streams.profiles.identity_conflicts", null, null, 5));

        var reasons = FigureBuilder.Reasons(current, "canonical");

        Assert.Equal(["malformed_json", "invalid_email", "total_mismatch", "identity_conflict", "brand_new_code"], reasons.Select(r => r.Code));
        var malformed = reasons[0];
        Assert.Equal(3, malformed.Total);
        Assert.Equal(2, malformed.PerTopic["social"]);
        Assert.Equal(1, malformed.PerTopic["store"]);
        Assert.Equal("quarantined", malformed.Disposition);
        Assert.Equal("flagged (quarantined if only identifier)", reasons[1].Disposition);
        Assert.Equal("flagged", reasons[2].Disposition);
        Assert.Equal(5, reasons[3].PerTopic["canonical"]);
        Assert.Equal("unknown", reasons[4].Disposition);
    }

    [Fact]
    public void Reasons_NothingFlagged_IsEmpty() =>
        Assert.Empty(FigureBuilder.Reasons(Snapshot(1, ("streams.ingest.records", "store", "accepted", 5)), "canonical"));

    [Fact]
    public void Pipeline_TakesTotalsAndTheModelVersionGauge()
    {
        var pipeline = FigureBuilder.Pipeline(Snapshot(1,
            ("streams.profiles.records", null, null, 70), ("streams.profiles.merges", null, null, 3),
            ("streams.profiles.identity_conflicts", null, null, 1), ("streams.segmentation.profiles", null, null, 60),
            ("streams.segmentation.reseeds", null, null, 2), ("streams.segmentation.model_version", null, null, 4)));

        Assert.Equal(new PipelineFigures(70, 3, 1, 60, 2, 4), pipeline);
    }

    [Fact]
    public void Pipeline_TakesTheActivationWorkersRowCounts_AsAListsProgress()
    {
        var pipeline = FigureBuilder.Pipeline(Snapshot(1,
            ("streams.activation.rows", null, null, 1200), ("streams.activation.matched", null, null, 900),
            ("streams.activation.refused", null, null, 7)));

        Assert.Equal((1200, 900, 7), (pipeline.ActivationRows, pipeline.ActivationMatched, pipeline.ActivationRefused));
    }

    [Fact]
    public void Pipeline_BeforeTheFirstSeed_HasNoModelVersion() =>
        Assert.Null(FigureBuilder.Pipeline(Snapshot(1, ("streams.segmentation.model_version", null, null, 0))).ModelVersion);
}
