namespace Streams.Contracts.Quarantine;

/// <summary>One problem found in a record (CONTRACT §4 <c>reasons[]</c>).</summary>
/// <param name="Code">One of <see cref="ReasonCodes"/>.</param>
/// <param name="Field">JSON path of the offending field (<c>items[2].quantity</c>), or null for the whole record.</param>
/// <param name="Detail">What was expected, in the worker's own words. Never the offending value: it may be personal data.</param>
public sealed record QuarantineReason(string Code, string? Field, string Detail);
