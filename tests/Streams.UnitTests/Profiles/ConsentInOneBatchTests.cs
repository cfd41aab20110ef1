using Streams.Contracts;
using Streams.Contracts.Canonical;
using Streams.Contracts.Identifiers;
using Streams.Contracts.Topics;
using Streams.Ingest;
using Streams.Ingest.Pseudonymization;
using Streams.Profiles.Identity;
using Streams.Profiles.Processing;
using static Streams.UnitTests.Profiles.ProfileTestKit;

namespace Streams.UnitTests.Profiles;

/// <summary>
/// Consent requests that reach the profiles worker in one batch: what the batch tells the segments topic must agree with
/// the profile record it writes, because the segmentation worker only ever follows the profile record.
/// </summary>
public sealed class ConsentInOneBatchTests
{
    private static readonly TopicCatalog Catalog = new(new TopicsOptions());
    private static readonly ProfileBatchProcessor Processor = new(Catalog, new IdentityCaps(), new ProfileRecordWriter());

    [Fact]
    public void OptOutThenOptIn_InOneBatch_LeavesNoSegmentsTombstone()
    {
        var changes = Processor.Apply(new ProfileState(), [Event(1), Consent(2, ConsentAction.OptOut), Consent(3, ConsentAction.OptIn)], T0.AddDays(1));

        var profile = Assert.Single(changes.Upserts);
        Assert.True(profile.PersonalizationAllowed);
        Assert.DoesNotContain(changes.Outbox, m => m.Topic == Catalog.Names.Segments);
    }

    [Fact]
    public void OptInThenOptOut_InOneBatch_TombstonesTheSegment()
    {
        var changes = Processor.Apply(new ProfileState(), [Event(1), Consent(2, ConsentAction.OptIn), Consent(3, ConsentAction.OptOut)], T0.AddDays(1));

        Assert.False(Assert.Single(changes.Upserts).PersonalizationAllowed);
        var tombstone = Assert.Single(changes.Outbox, m => m.Topic == Catalog.Names.Segments);
        Assert.Null(tombstone.Value);
    }

    private static EventItem Event(long offset) =>
        new(new SourcePosition("canonical", 0, offset), Click(T0.AddMinutes(offset), "page_view") with { Identifiers = [Email("jane")] });

    private static ConsentItem Consent(long offset, ConsentAction action) =>
        new(new SourcePosition("canonical", 0, offset),
            new ConsentCommand($"consent-{offset}", T0.AddMinutes(offset), IdentifierType.Email, Email("jane").Pseudonym, action,
                new SourcePosition("consent", 0, offset)));
}
