using Streams.Contracts.Identifiers;
using Streams.Ingest.Pseudonymization;

namespace Streams.Activation.Requests;

/// <summary>One identifier of a campaign system's row, raw: it lives only in this worker's memory, until pseudonymized.</summary>
public sealed record RequestedIdentifier(IdentifierType Type, string Value);

/// <summary>One row of a campaign system's list as read from <c>activation-requests</c> (CONTRACT §8).</summary>
/// <param name="ListId">The campaign system's opaque list id.</param>
/// <param name="RecordId">The campaign system's opaque record id: the key of the answer.</param>
/// <param name="RequestedBy">Who asks: the campaign system's name for itself or its user.</param>
/// <param name="Identifiers">The row's identifiers, raw.</param>
/// <param name="SegmentId">"Members of segment X among this list" when set; "segment of each row" when null.</param>
public sealed record ActivationRequest(
    string ListId, string RecordId, string RequestedBy, IReadOnlyList<RequestedIdentifier> Identifiers, int? SegmentId);

/// <summary>A row with its identifiers replaced by their pseudonyms: nothing raw is left in it.</summary>
public sealed record PseudonymousRequest(string ListId, string RecordId, string RequestedBy, IReadOnlyList<string> Pseudonyms, int? SegmentId);
