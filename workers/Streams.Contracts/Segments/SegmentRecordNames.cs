namespace Streams.Contracts.Segments;

/// <summary>
/// The property names of the <c>segments</c> records (a profile's assignment, CONTRACT §5.2) and the <c>segment-catalog</c>
/// records (§5.3), in one place: <see cref="SegmentJson"/> writes them, and readers (the segmentation capability's
/// <c>SegmentDirectory</c>, which reads the stored copy of the assignment) name them from here.
/// </summary>
public static class SegmentRecordNames
{
    public const string ProfileId = "profile_id";
    public const string SegmentId = "segment_id";
    public const string ModelVersion = "model_version";
    public const string Distance = "distance";
    public const string AssignedAt = "assigned_at";
    public const string Explanation = "explanation";
    public const string Feature = "feature";
    public const string ProfileZ = "profile_z";
    public const string SegmentZ = "segment_z";
    public const string Contribution = "contribution";
    public const string Summary = "summary";
    public const string Size = "size";
    public const string Centroid = "centroid";
    public const string TopFeatures = "top_features";
    public const string Description = "description";
}
