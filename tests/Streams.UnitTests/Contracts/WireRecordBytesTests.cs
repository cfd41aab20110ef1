using System.Text;
using Streams.Contracts;
using Streams.Contracts.Canonical;
using Streams.Contracts.Identifiers;
using Streams.Profiles.Features;
using Streams.Profiles.Processing;
using Streams.Segmentation.Engine;
using Streams.Segmentation.Model;

namespace Streams.UnitTests.Contracts;

/// <summary>
/// The exact bytes of records whose writer moved into Streams.Contracts: consumers parse them, so moving a writer must
/// not change a byte.
/// </summary>
public sealed class WireRecordBytesTests
{
    private static readonly DateTimeOffset At = new(2026, 12, 4, 12, 0, 0, 250, TimeSpan.Zero);

    [Fact]
    public void Profile_WritesTheProfileRecord()
    {
        var profile = new StoredProfile { ProfileId = "p-a", Aggregate = new ProfileAggregate(), Version = 3 };
        profile.PersonalizationAllowed = false;
        profile.Identifiers["k1:b"] = (IdentifierType.Email, At, null);
        profile.Identifiers["k1:a"] = (IdentifierType.Loyalty, At, null);
        profile.Aggregate.Apply(new CanonicalEvent(Channel.Store, "s-1", At, [], [], new SourcePosition("store", 0, 1))
        {
            Store = new StoreAttributes("S-1", 20.5, "EUR", 10, 2, [new CategoryAmount("food", 2, 18.45)], "card"),
        });
        profile.Aggregate.Apply(new CanonicalEvent(Channel.Callcenter, "c-1", At.AddDays(1), [], [], new SourcePosition("callcenter", 0, 1))
        {
            Callcenter = new CallcenterAttributes("complaint", 30, -0.5, false),
        });

        var record = Encoding.UTF8.GetString(new ProfileRecordWriter().Profile(profile, At.AddDays(2)));

        Assert.Equal(
            """
            {"profile_id":"p-a","identifiers":["k1:a","k1:b"],"first_seen":"2026-12-04T12:00:00.250Z","last_seen":"2026-12-05T12:00:00.250Z","event_counts":{"clickstream":0,"store":1,"callcenter":1,"social":0},"features":{"avg_basket":20.5,"avg_call_duration_s":30,"avg_call_sentiment":-0.5,"avg_discount_pct":10,"call_count":1,"call_resolution_rate":0,"category_count":1,"channel_count":2,"complaint_share":1,"discounted_share":1,"event_count":2,"events_per_week":2,"items_per_transaction":2,"online_share":0,"online_spend":0,"purchase_count":1,"social_interactions":0,"store_spend":20.5,"tenure_days":1,"top_category_share":1,"total_spend":20.5},"personalization_allowed":false,"version":3,"updated_at":"2026-12-06T12:00:00.250Z"}
            """, record);
    }

    [Fact]
    public void SegmentAssignment_WritesTheSegmentsRecord()
    {
        FeatureContribution[] explanation = [new("events_per_week", 2.123456, 1.5, 0.987654321), new("online_share", -1.25, -0.75, 0.1)];

        var record = Encoding.UTF8.GetString(SegmentationEngine.AssignmentRecord("p-a", 3, 7, 1.23456789, At, explanation));

        Assert.Equal(
            """
            {"profile_id":"p-a","segment_id":3,"model_version":7,"distance":1.234568,"assigned_at":"2026-12-04T12:00:00.250Z","explanation":[{"feature":"events_per_week","profile_z":2.1235,"segment_z":1.5,"contribution":0.9877},{"feature":"online_share","profile_z":-1.25,"segment_z":-0.75,"contribution":0.1}],"summary":"Is active more often than most customers; does most of their shopping in stores."}
            """, record);
    }

    [Fact]
    public void MergeAndSplit_WriteTheProfileMergesRecords()
    {
        var writer = new ProfileRecordWriter();

        Assert.Equal("""{"kind":"merge","merge_id":"m-1","from":"p-a","into":"p-b","at":"2026-12-04T12:00:00.250Z","event_id":"e-1"}""",
            Encoding.UTF8.GetString(writer.Merge("m-1", "p-a", "p-b", At, "e-1")));
        Assert.Equal("""{"kind":"detach","merge_id":null,"from":"p-c","into":"p-b","at":"2026-12-04T12:00:00.250Z"}""",
            Encoding.UTF8.GetString(writer.Split("detach", null, "p-c", "p-b", At)));
    }

    [Fact]
    public void IdentityConflict_WritesTheFlaggedQuarantineRecord()
    {
        var refused = new CanonicalIdentifier(IdentifierType.Email, "k1:0123456789abcdef0123456789abcdef");
        var e = new CanonicalEvent(Channel.Callcenter, "evt-\"1", At, [refused], [], new SourcePosition("callcenter", 2, 7))
        {
            Callcenter = new CallcenterAttributes("billing", 60, 0.5, true),
        };

        var record = Encoding.UTF8.GetString(new ProfileRecordWriter().IdentityConflict(e, refused, 3, At));

        Assert.Equal(
            """
            {"source":{"topic":"callcenter","partition":2,"offset":7},"event_id":"evt-\u00221","disposition":"flagged","reasons":[{"code":"identity_conflict","field":"email","detail":"linking k1:0123456789abcdef0123456789abcdef would give the profile more than 3 email identifiers; the event is used, the link is not made"}],"record":{"channel":"callcenter","event_id":"evt-\u00221","occurred_at":"2026-12-04T12:00:00.25Z","identifiers":[{"type":"email","pseudonym":"k1:0123456789abcdef0123456789abcdef"}],"flags":[],"source":{"topic":"callcenter","partition":2,"offset":7},"callcenter":{"reason":"billing","duration_s":60,"sentiment":0.5,"resolved":true}},"raw_sha256":"9205248b4506ff36da9b4e848a97b0ef8640b00b3c152bbe0fdb01b9133622d2","raw_bytes":322,"quarantined_at":"2026-12-04T12:00:00.250Z"}
            """, record);
    }
}
