namespace Streams.Contracts.Profiles;

/// <summary>
/// The property names of the <c>profiles</c> records (CONTRACT §5.1) and the <c>profile-merges</c> records (§5.4), in one
/// place: <see cref="ProfileJson"/> writes them and <see cref="ProfileRecordReader"/> reads them.
/// </summary>
public static class ProfileRecordNames
{
    public const string ProfileId = "profile_id";
    public const string Identifiers = "identifiers";
    public const string FirstSeen = "first_seen";
    public const string LastSeen = "last_seen";
    public const string EventCounts = "event_counts";
    public const string Features = "features";
    public const string PersonalizationAllowed = "personalization_allowed";
    public const string Version = "version";
    public const string UpdatedAt = "updated_at";

    /// <summary>A <c>profile-merges</c> record's kind: <see cref="KindMerge"/>, <c>unmerge</c> or <c>detach</c>.</summary>
    public const string Kind = "kind";
    public const string KindMerge = "merge";
    public const string MergeId = "merge_id";
    public const string From = "from";
    public const string Into = "into";
    public const string At = "at";
    public const string EventId = "event_id";
}
