using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using Microsoft.Extensions.Options;
using Streams.Contracts;
using Streams.Contracts.Canonical;
using Streams.Contracts.Outputs;
using Streams.Contracts.Quarantine;
using Streams.Ingest.Channels;
using Streams.Ingest.Pseudonymization;
using Streams.Ingest.Quarantine;
using Streams.Ingest.Validation;
using Streams.Ingest.Worker;

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

    /// <summary>
    /// For the masked copy of a record the field index has read (<see cref="FieldIndex"/>): that pass already found it
    /// well-formed and free of duplicate names, so the document need not look for them again.
    /// </summary>
    private static readonly JsonDocumentOptions IndexedDocumentOptions = new()
    {
        MaxDepth = MaxDepth,
        AllowDuplicateProperties = true,
    };

    private static readonly SourcePosition NoSource = new("", -1, -1);

    private readonly Pseudonymizer pseudonymizer;
    private readonly IngestOptions options;
    private readonly TimeProvider timeProvider;
    private readonly BlockedIdentifiers? blocked;

    /// <param name="blocked">Identifiers that never link profiles (<c>Identity:Blocked</c>); null for none.</param>
    public IngestPipeline(Pseudonymizer pseudonymizer, IOptions<IngestOptions> options, TimeProvider timeProvider, BlockedIdentifiers? blocked = null)
    {
        this.blocked = blocked;
        ArgumentNullException.ThrowIfNull(options);
        this.pseudonymizer = pseudonymizer ?? throw new ArgumentNullException(nameof(pseudonymizer));
        this.options = options.Value;
        this.timeProvider = timeProvider ?? throw new ArgumentNullException(nameof(timeProvider));
    }

    /// <summary>
    /// False: every record takes the thorough path (a strict parse, a look-up per field), as before fields were indexed
    /// in one pass; for the tests that compare both paths.
    /// </summary>
    internal bool IndexFields { get; init; } = true;

    /// <summary>Judges one input record read from <paramref name="source"/>.</summary>
    public IngestOutcome Process(Channel channel, SourcePosition source, ReadOnlyMemory<byte> value) =>
        Process(channel, source, value, forced: null);

    /// <summary>
    /// Judges one input record and writes what it produces, each value at most <paramref name="maxValueBytes"/> long
    /// (the producer's message limit less room for key and headers). Never throws for a record: whatever fails on the
    /// way (a defect in a reader, a value the writer refuses, an output too large to produce) quarantines this record
    /// with a reason, because one record that cannot be written must not stop every record behind it.
    /// </summary>
    /// <param name="key">The input record's key; never copied, only digested (CONTRACT §1).</param>
    public IngestResult Handle(Channel channel, SourcePosition source, byte[]? key, ReadOnlyMemory<byte> value, int maxValueBytes)
    {
        IngestOutcome outcome;
        try
        {
            outcome = Process(channel, source, value, forced: null);
        }
        catch (CanonicalWriteException e)
        {
            return Requarantine(channel, source, key, value, maxValueBytes, CouldNotBeWritten(e.InnerException!));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return Requarantine(channel, source, key, value, maxValueBytes,
                new QuarantineReason(ReasonCodes.ProcessingError, null, $"ingest failed while judging the record ({e.GetType().Name})"));
        }

        return Write(channel, source, key, value, outcome, maxValueBytes);
    }

    /// <summary>
    /// What to write for a record whose <c>event_id</c> the caller's de-duplication has already seen:
    /// <c>duplicate_event</c> plus whatever else is wrong with it, with the masked copy.
    /// </summary>
    public IngestResult HandleDuplicate(Channel channel, SourcePosition source, byte[]? key, ReadOnlyMemory<byte> value, int maxValueBytes) =>
        Requarantine(channel, source, key, value, maxValueBytes,
            new QuarantineReason(ReasonCodes.DuplicateEvent, "event_id", "was already seen on this topic within Ingest:DedupWindow"));

    /// <summary>
    /// The key of a quarantine record: the event id when the record had a valid one, else a keyed digest of the input
    /// key. Never the input key itself: a channel may key its records by email.
    /// </summary>
    public byte[]? QuarantineKey(QuarantineRecord record, byte[]? inputKey)
    {
        ArgumentNullException.ThrowIfNull(record);
        return record.EventId is { } eventId ? Encoding.UTF8.GetBytes(eventId)
            : inputKey is null ? null
            : Encoding.UTF8.GetBytes(pseudonymizer.Digest(inputKey));
    }

    /// <summary>
    /// The distinct reason codes for a raw sample, as the corpus tests compare them with the JSON Schemas:
    /// see <see cref="ReasonCodes.IsSchemaInvalid(IEnumerable{string})"/>.
    /// </summary>
    public IReadOnlyList<string> ReasonCodesFor(Channel channel, ReadOnlyMemory<byte> value) =>
        Process(channel, NoSource, value).ReasonCodes;

    internal IngestResult Write(Channel channel, SourcePosition source, byte[]? key, ReadOnlyMemory<byte> value, IngestOutcome outcome, int maxValueBytes)
    {
        IngestOutput? canonical;
        try
        {
            canonical = outcome switch
            {
                { CanonicalKey: { } eventKey, CanonicalValue: { } eventValue } => new IngestOutput(OutputHeaders.KindEvent, Encoding.UTF8.GetBytes(eventKey), eventValue),
                { Consent: { } consent } => new IngestOutput(OutputHeaders.KindConsent, Encoding.UTF8.GetBytes(consent.Pseudonym), CanonicalJson.Serialize(consent)),
                _ => null,
            };
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return Requarantine(channel, source, key, value, maxValueBytes, CouldNotBeWritten(e));
        }

        if (canonical is { } c && c.Value.Length > maxValueBytes)
        {
            // The input fitted, its output does not (escaped non-ASCII text grows up to six-fold): the producer would
            // refuse it on every attempt, and the partition would never move again.
            return Requarantine(channel, source, key, value, maxValueBytes, new QuarantineReason(ReasonCodes.OversizedRecord, null,
                $"its canonical event would be {c.Value.Length} bytes, more than the {maxValueBytes} bytes the producer may send"));
        }

        var outputs = new List<IngestOutput>(2);
        if (canonical is { } written)
        {
            outputs.Add(written);
        }

        if (outcome.Quarantine is { } quarantine)
        {
            outputs.Add(QuarantineOutput(quarantine, key, maxValueBytes));
        }

        return new IngestResult(outcome, outputs);
    }

    private static QuarantineReason CouldNotBeWritten(Exception e) =>
        new(ReasonCodes.ProcessingError, null, $"its canonical event could not be written ({e.GetType().Name})");

    private IngestResult Requarantine(
        Channel channel, SourcePosition source, byte[]? key, ReadOnlyMemory<byte> value, int maxValueBytes, QuarantineReason reason)
    {
        IngestOutcome outcome;
        try
        {
            outcome = Process(channel, source, value, reason);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Judging failed again: a record with nothing but the reasons, which cannot fail.
            var failure = new QuarantineReason(ReasonCodes.ProcessingError, null, $"ingest failed while judging the record ({e.GetType().Name})");
            outcome = Reject(source, value.Span, timeProvider.GetUtcNow(), reason.Code == ReasonCodes.ProcessingError ? null : reason, failure);
        }

        return new IngestResult(outcome, [QuarantineOutput(outcome.Quarantine!, key, maxValueBytes)]);
    }

    /// <summary>
    /// The quarantine value within <paramref name="maxValueBytes"/>: without the masked copy when that makes it too
    /// large, and with only the first reason of each code after that. Every reason detail is short and there are at
    /// most a few dozen, so the last form always fits any limit the producer allows (at least 1000 bytes).
    /// </summary>
    private IngestOutput QuarantineOutput(QuarantineRecord record, byte[]? inputKey, int maxValueBytes)
    {
        var key = QuarantineKey(record, inputKey);
        var value = QuarantineJson.Serialize(record);
        if (value.Length > maxValueBytes)
        {
            record = record with { Record = null };
            value = QuarantineJson.Serialize(record);
        }

        if (value.Length > maxValueBytes)
        {
            record = record with { Reasons = record.Reasons.DistinctBy(r => r.Code).ToList() };
            value = QuarantineJson.Serialize(record);
        }

        return new IngestOutput(OutputHeaders.KindQuarantine, key, value);
    }

    /// <param name="forced">A quarantining reason decided outside the record (a duplicate, an output too large), listed first.</param>
    private IngestOutcome Process(Channel channel, SourcePosition source, ReadOnlyMemory<byte> value, QuarantineReason? forced)
    {
        ArgumentNullException.ThrowIfNull(source);
        var now = timeProvider.GetUtcNow();
        if (value.Length > options.MaxRecordBytes)
        {
            // Not parsed at all: the size limit exists to bound the work a hostile record can cause.
            return Reject(source, value.Span, now, forced,
                new QuarantineReason(ReasonCodes.OversizedRecord, null, $"is larger than Ingest:MaxRecordBytes ({options.MaxRecordBytes})"));
        }

        // The reader would accept some invalid UTF-8 inside strings and fail later; checking first is cheap and certain.
        if (!Utf8.IsValid(value.Span))
        {
            return Reject(source, value.Span, now, forced, new QuarantineReason(ReasonCodes.MalformedJson, null, "is not valid UTF-8"));
        }

        var table = IndexFields && Enum.IsDefined(channel) ? FieldTable.For(channel) : null;
        JsonDocument? document = null;
        try
        {
            try
            {
                // The usual shape is read from the record's bytes, without a document. An unusual one (escaped or
                // unknown names, nested values, a duplicate, not an object) is left to the thorough check.
                if (table is null || !FieldIndex.TryIndexRecord(value, table))
                {
                    FieldIndex.ClearThread();
                    document = JsonDocument.Parse(value, DocumentOptions);
                }
            }
            catch (JsonException)
            {
                // The exception's message can quote the input; the detail must not.
                return Reject(source, value.Span, now, forced, new QuarantineReason(
                    ReasonCodes.MalformedJson, null, $"is not well-formed JSON, has a duplicate field or nests deeper than {MaxDepth}"));
            }

            if (document is null)
            {
                return Judge(channel, source, value, null, FieldIndex.ForRoot, now, forced);
            }

            return document.RootElement.ValueKind == JsonValueKind.Object
                ? Judge(channel, source, value, document.RootElement, null, now, forced)
                : Reject(source, value.Span, now, forced, new QuarantineReason(ReasonCodes.MalformedJson, null, "is not a JSON object"));
        }
        finally
        {
            FieldIndex.ClearThread();
            document?.Dispose();
        }
    }

    /// <param name="root">The parsed record on the thorough path; null when <paramref name="fields"/> indexed it.</param>
    private IngestOutcome Judge(
        Channel channel, SourcePosition source, ReadOnlyMemory<byte> value, JsonElement? root, FieldIndex? fields, DateTimeOffset now,
        QuarantineReason? forced)
    {
        var raw = value.Span;
        var reasons = ReasonCollector.ForRecord();
        if (forced is not null)
        {
            reasons.Add(forced.Code, forced.Field, forced.Detail);
        }

        var f = new FieldReader(root ?? default, reasons, fields);
        // Consent is not blocked: an erasure must still reach profiles an identifier linked before it was blocked.
        var identifiers = IdentifierSet.ForRecord(pseudonymizer, channel == Channel.Consent ? null : blocked);
        var header = EventHeader.Read(f, now, options.MaxClockSkew);
        ClickstreamAttributes? clickstream = null;
        StoreReader.Sale? store = null;
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
                Mask(channel, value, root, identifiers),
                pseudonymizer.Digest(raw),
                raw.Length,
                now);

        if (disposition is IngestDisposition.Quarantined or IngestDisposition.AnonymousSale)
        {
            return new IngestOutcome(disposition, header.EventId, null, null, null, quarantine) { ReasonCodes = reasons.Codes };
        }

        var eventId = header.EventId!;
        var occurredAt = header.OccurredAt!.Value;
        if (channel == Channel.Consent)
        {
            var identifier = identifiers.Items[0];
            var command = new ConsentCommand(eventId, occurredAt, identifier.Type, identifier.Pseudonym!, action!.Value, source,
                identifier.Others is { Count: > 0 } others ? others : null);
            return new IngestOutcome(disposition, eventId, null, null, command, quarantine) { ReasonCodes = reasons.Codes };
        }

        var (key, canonical) = WriteEvent(channel, eventId, occurredAt, identifiers, reasons.Codes, source, clickstream, store, callcenter, social);
        return new IngestOutcome(disposition, eventId, key, canonical, null, quarantine) { ReasonCodes = reasons.Codes };
    }

    /// <summary>
    /// The canonical event's key and bytes, written from what the record was judged into rather than from an event's
    /// objects built only to be written once.
    /// </summary>
    private static (string Key, byte[] Value) WriteEvent(
        Channel channel, string eventId, DateTimeOffset occurredAt, IdentifierSet identifiers, IReadOnlyList<string> flags, SourcePosition source,
        ClickstreamAttributes? clickstream, StoreReader.Sale? store, CallcenterAttributes? callcenter, SocialAttributes? social)
    {
        try
        {
            var writer = CanonicalEventWriter.Start(channel, eventId, occurredAt);
            string? key = null;
            var items = identifiers.Items;
            // By index: a foreach over the interface would allocate an enumerator per record.
            for (var i = 0; i < items.Count; i++)
            {
                var identifier = items[i];
                if (identifier.Pseudonym is { } pseudonym)
                {
                    writer.Identifier(identifier.Type, pseudonym, identifier.Previous);
                    key ??= pseudonym;
                }
            }

            writer.FlagsAndSource(flags, source);
            if (clickstream is not null)
            {
                writer.Clickstream(clickstream);
            }
            else if (store is { } sale)
            {
                StoreReader.Write(writer, sale);
            }
            else if (callcenter is not null)
            {
                writer.Callcenter(callcenter);
            }
            else if (social is not null)
            {
                writer.Social(social);
            }

            return (key ?? eventId, writer.ToArray());
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new CanonicalWriteException(e);
        }
    }

    /// <summary>The writer refused what the record was judged into: the record is quarantined with that said.</summary>
    private sealed class CanonicalWriteException(Exception inner) : Exception("The canonical event could not be written.", inner);

    /// <summary>The masked copy, from a document parsed only now when the record was read from its bytes.</summary>
    private static JsonElement Mask(Channel channel, ReadOnlyMemory<byte> value, JsonElement? root, IdentifierSet identifiers)
    {
        if (root is { } element)
        {
            return RecordMasker.Mask(channel, element, identifiers);
        }

        using var document = JsonDocument.Parse(value, IndexedDocumentOptions);
        return RecordMasker.Mask(channel, document.RootElement, identifiers);
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

    private IngestOutcome Reject(SourcePosition source, ReadOnlySpan<byte> raw, DateTimeOffset now, QuarantineReason? forced, QuarantineReason reason)
    {
        QuarantineReason[] reasons = forced is null ? [reason] : [forced, reason];
        var record = new QuarantineRecord(
            source, null, QuarantineDisposition.Quarantined, reasons, null, pseudonymizer.Digest(raw), raw.Length, now);
        return new IngestOutcome(IngestDisposition.Quarantined, null, null, null, null, record)
        {
            ReasonCodes = reasons.Select(r => r.Code).Distinct().ToList(),
        };
    }
}
