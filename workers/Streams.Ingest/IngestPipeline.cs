using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Unicode;
using Microsoft.Extensions.Options;
using Streams.Ingest.Canonical;
using Streams.Ingest.Channels;
using Streams.Ingest.Pseudonymization;
using Streams.Ingest.Quarantine;
using Streams.Ingest.Validation;

namespace Streams.Ingest;

/// <summary>
/// The per-record logic of ingest, without I/O: raw value in, <see cref="IngestOutcome"/> out. Parses, validates
/// (every problem of CONTRACT §4 that one record shows), pseudonymizes identifiers and drops personal free text.
/// Never throws on input data. Thread-safe.
/// </summary>
public sealed class IngestPipeline
{
    /// <summary>Deeper nesting is <c>malformed_json</c>: no input event nests beyond 3 levels.</summary>
    public const int MaxDepth = 64;

    private static readonly JsonDocumentOptions DocumentOptions = new()
    {
        MaxDepth = MaxDepth,
        // Two values for one field would let the validator and a downstream reader see different records.
        AllowDuplicateProperties = false,
    };

    private static readonly SourcePosition NoSource = new("", -1, -1);

    private readonly Pseudonymizer pseudonymizer;
    private readonly IngestOptions options;
    private readonly TimeProvider timeProvider;

    public IngestPipeline(Pseudonymizer pseudonymizer, IOptions<IngestOptions> options, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(options);
        this.pseudonymizer = pseudonymizer ?? throw new ArgumentNullException(nameof(pseudonymizer));
        this.options = options.Value;
        this.timeProvider = timeProvider ?? throw new ArgumentNullException(nameof(timeProvider));
    }

    /// <summary>Judges one input record read from <paramref name="source"/>.</summary>
    public IngestOutcome Process(Channel channel, SourcePosition source, ReadOnlyMemory<byte> value) =>
        Process(channel, source, value, duplicate: false);

    /// <summary>
    /// The quarantine record for a record whose <c>event_id</c> the caller's de-duplication has already seen:
    /// <c>duplicate_event</c> plus whatever else is wrong with it, with the masked copy.
    /// </summary>
    public QuarantineRecord QuarantineDuplicate(Channel channel, SourcePosition source, ReadOnlyMemory<byte> value) =>
        Process(channel, source, value, duplicate: true).Quarantine!;

    /// <summary>
    /// The distinct reason codes for a raw sample, as the corpus tests compare them with the JSON Schemas:
    /// see <see cref="ReasonCodes.IsSchemaInvalid(IEnumerable{string})"/>.
    /// </summary>
    public IReadOnlyList<string> ReasonCodesFor(Channel channel, ReadOnlyMemory<byte> value) =>
        Process(channel, NoSource, value).ReasonCodes;

    private IngestOutcome Process(Channel channel, SourcePosition source, ReadOnlyMemory<byte> value, bool duplicate)
    {
        ArgumentNullException.ThrowIfNull(source);
        var now = timeProvider.GetUtcNow();
        if (value.Length > options.MaxRecordBytes)
        {
            // Not parsed at all: the size limit exists to bound the work a hostile record can cause.
            return Reject(source, value.Span, now, ReasonCodes.OversizedRecord, $"is larger than Ingest:MaxRecordBytes ({options.MaxRecordBytes})");
        }

        // The reader would accept some invalid UTF-8 inside strings and fail later; checking first is cheap and certain.
        if (!Utf8.IsValid(value.Span))
        {
            return Reject(source, value.Span, now, ReasonCodes.MalformedJson, "is not valid UTF-8");
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(value, DocumentOptions);
        }
        catch (JsonException)
        {
            // The exception's message can quote the input; the detail must not.
            return Reject(source, value.Span, now, ReasonCodes.MalformedJson, $"is not well-formed JSON, has a duplicate field or nests deeper than {MaxDepth}");
        }

        using (document)
        {
            return document.RootElement.ValueKind == JsonValueKind.Object
                ? Judge(channel, source, value.Span, document.RootElement, now, duplicate)
                : Reject(source, value.Span, now, ReasonCodes.MalformedJson, "is not a JSON object");
        }
    }

    private IngestOutcome Judge(Channel channel, SourcePosition source, ReadOnlySpan<byte> raw, JsonElement root, DateTimeOffset now, bool duplicate)
    {
        var reasons = new ReasonCollector();
        if (duplicate)
        {
            reasons.Add(ReasonCodes.DuplicateEvent, "event_id", "was already seen on this topic within Ingest:DedupWindow");
        }

        var f = new FieldReader(root, reasons);
        var identifiers = new IdentifierSet(pseudonymizer);
        var header = EventHeader.Read(f, now, options.MaxClockSkew);
        ClickstreamAttributes? clickstream = null;
        StoreAttributes? store = null;
        CallcenterAttributes? callcenter = null;
        SocialAttributes? social = null;
        ConsentAction? action = null;
        var complete = channel switch
        {
            Channel.Clickstream => (clickstream = ClickstreamReader.Read(f, identifiers)) is not null,
            Channel.Store => (store = StoreReader.Read(f, identifiers)) is not null,
            Channel.Callcenter => (callcenter = CallcenterReader.Read(f, identifiers)) is not null,
            Channel.Social => (social = SocialReader.Read(f, identifiers)) is not null,
            Channel.Consent => (action = ConsentReader.Read(f, identifiers)) is not null,
            _ => throw new ArgumentOutOfRangeException(nameof(channel), channel, null),
        };

        var disposition = Decide(channel, header, complete, reasons, identifiers);
        var quarantine = reasons.IsEmpty
            ? null
            : new QuarantineRecord(
                source,
                header.EventId,
                disposition == IngestDisposition.Quarantined ? QuarantineDisposition.Quarantined : QuarantineDisposition.Flagged,
                reasons.Reasons,
                RecordMasker.Mask(channel, root, identifiers),
                Sha256Hex(raw),
                raw.Length,
                now);

        if (disposition is IngestDisposition.Quarantined or IngestDisposition.AnonymousSale)
        {
            return new IngestOutcome(disposition, header.EventId, null, null, quarantine) { ReasonCodes = reasons.Codes };
        }

        var eventId = header.EventId!;
        var occurredAt = header.OccurredAt!.Value;
        if (channel == Channel.Consent)
        {
            var identifier = identifiers.Items[0];
            var command = new ConsentCommand(eventId, occurredAt, identifier.Type, identifier.Pseudonym!, action!.Value, source);
            return new IngestOutcome(disposition, eventId, null, command, quarantine) { ReasonCodes = reasons.Codes };
        }

        var canonical = new CanonicalEvent(channel, eventId, occurredAt, ValidIdentifiers(identifiers), reasons.Codes, source)
        {
            Clickstream = clickstream,
            Store = store,
            Callcenter = callcenter,
            Social = social,
        };
        return new IngestOutcome(disposition, eventId, canonical, null, quarantine) { ReasonCodes = reasons.Codes };
    }

    private static IngestDisposition Decide(
        Channel channel, EventHeader header, bool complete, ReasonCollector reasons, IdentifierSet identifiers)
    {
        if (!header.IsValid || !complete || reasons.HasQuarantining)
        {
            return IngestDisposition.Quarantined;
        }

        if (identifiers.PresentCount == 0)
        {
            // Every other channel requires an identifier field, so its absence was already a schema violation.
            return channel == Channel.Store ? IngestDisposition.AnonymousSale : IngestDisposition.Quarantined;
        }

        if (identifiers.ValidCount == 0)
        {
            // The invalid email or phone was the only identifier: the event cannot belong to anyone.
            return IngestDisposition.Quarantined;
        }

        return reasons.IsEmpty ? IngestDisposition.Accepted : IngestDisposition.Flagged;
    }

    private static List<CanonicalIdentifier> ValidIdentifiers(IdentifierSet identifiers)
    {
        var valid = new List<CanonicalIdentifier>(identifiers.Items.Count);
        foreach (var identifier in identifiers.Items)
        {
            if (identifier.Pseudonym is not null)
            {
                valid.Add(new CanonicalIdentifier(identifier.Type, identifier.Pseudonym));
            }
        }

        return valid;
    }

    private static IngestOutcome Reject(SourcePosition source, ReadOnlySpan<byte> raw, DateTimeOffset now, string code, string detail)
    {
        var record = new QuarantineRecord(
            source, null, QuarantineDisposition.Quarantined, [new QuarantineReason(code, null, detail)], null, Sha256Hex(raw), raw.Length, now);
        return new IngestOutcome(IngestDisposition.Quarantined, null, null, null, record) { ReasonCodes = [code] };
    }

    private static string Sha256Hex(ReadOnlySpan<byte> raw)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(raw, hash);
        return Convert.ToHexStringLower(hash);
    }
}
