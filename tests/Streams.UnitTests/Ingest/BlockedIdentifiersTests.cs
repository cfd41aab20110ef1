using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Streams.Contracts;
using Streams.Contracts.Canonical;
using Streams.Contracts.Identifiers;
using Streams.Contracts.Quarantine;
using Streams.Ingest;
using Streams.Ingest.Pseudonymization;
using Streams.Ingest.Quarantine;
using Streams.Ingest.Validation;
using static Streams.UnitTests.Ingest.IngestTestKit;

namespace Streams.UnitTests.Ingest;

/// <summary><c>Identity:Blocked</c>: configured values and patterns, matched on the normalized value, never link.</summary>
public sealed class BlockedIdentifiersTests
{
    private static IdentityBlockingOptions Configured()
    {
        var options = new IdentityBlockingOptions();
        options.Blocked.Values["email"] = ["Test@Example.com"];
        options.Blocked.Values["phone"] = ["555-555-5555"];
        options.Blocked.Values["social"] = ["twitter:@DemoStore"];
        options.Blocked.Patterns["Loyalty"] = ["^DEMO-[0-9]+$"];
        options.Blocked.Patterns["device"] = ["^0{8}-0{4}-0{4}-0{4}-0{12}$"];
        return options;
    }

    private static BlockedIdentifiers Blocked(IdentityBlockingOptions? options = null) =>
        new(Options.Create(options ?? Configured()), Options.Create(PseudonymizationOptions()));

    [Theory]
    [InlineData(IdentifierType.Email, "test@example.com", true)]
    [InlineData(IdentifierType.Email, "  TEST@example.COM ", true)]
    [InlineData(IdentifierType.Email, "test2@example.com", false)]
    [InlineData(IdentifierType.Email, "not an address", false)]
    [InlineData(IdentifierType.Phone, "(555) 555-5555", true)]
    [InlineData(IdentifierType.Phone, "+1 555 555 5555", true)]
    [InlineData(IdentifierType.Phone, "+44 555 555 5555", false)]
    [InlineData(IdentifierType.Loyalty, " demo-0042", true)]
    [InlineData(IdentifierType.Loyalty, "XDEMO-0042", false)]
    [InlineData(IdentifierType.Loyalty, "DEMO-0042-7", false)]
    [InlineData(IdentifierType.Device, "00000000-0000-0000-0000-000000000000", true)]
    [InlineData(IdentifierType.Device, "00000000-0000-0000-0000-000000000001", false)]
    [InlineData(IdentifierType.Social, "twitter:demostore", true)]
    [InlineData(IdentifierType.Social, "instagram:demostore", false)]
    public void IsBlocked_MatchesTheNormalizedValue(IdentifierType type, string raw, bool blocked) =>
        Assert.Equal(blocked, Blocked().IsBlocked(type, raw));

    [Fact]
    public void Covers_OnlyTypesWithSomethingConfigured()
    {
        var options = new IdentityBlockingOptions();
        options.Blocked.Values["email"] = ["a@b.co"];

        var blocked = Blocked(options);

        Assert.True(blocked.Covers(IdentifierType.Email));
        Assert.False(blocked.Covers(IdentifierType.Phone));
        Assert.False(blocked.IsBlocked(IdentifierType.Phone, "555-555-5555"));
    }

    [Theory]
    [InlineData("Values", "fax", "1", "Identity:Blocked:Values:fax is not an identifier type")]
    [InlineData("Patterns", "email", "([a-z]", "Identity:Blocked:Patterns:email:0 is not a valid pattern")]
    [InlineData("Patterns", "email", "^(a)\\1$", "the non-backtracking engine does not support")]
    public void Validator_RefusesUnknownTypesAndBadPatterns_WithoutQuotingThem(string section, string type, string entry, string named)
    {
        var options = new IdentityBlockingOptions();
        (section == "Values" ? options.Blocked.Values : options.Blocked.Patterns)[type] = [entry];

        var result = new IdentityBlockingOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains(named, result.FailureMessage, StringComparison.Ordinal);
        Assert.DoesNotContain(entry, result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Validator_RefusesATimeoutOutOfRange()
    {
        var options = new IdentityBlockingOptions();
        options.Blocked.PatternTimeout = TimeSpan.Zero;

        Assert.True(new IdentityBlockingOptionsValidator().Validate(null, options).Failed);
        Assert.False(new IdentityBlockingOptionsValidator().Validate(null, Configured()).Failed);
    }

    private static IngestOutcome Process(Channel channel, JsonObject value) =>
        new IngestPipeline(Pseudonymizer(), Options.Create(new IngestOptions()), new FixedTimeProvider(Now), Blocked())
            .Process(channel, Source, Encoding.UTF8.GetBytes(value.ToJsonString()));

    [Fact]
    public void Process_BlockedEmailBesideOtherIdentifiers_IsFlaggedAndLeftOut_AndNoTraceOfItLeavesIngest()
    {
        var sample = Sample(Channel.Store, s => s["email"] = " TEST@example.com");
        var blockedPseudonym = Pseudonymizer().TryPseudonymize(IdentifierType.Email, "test@example.com", out var p) ? p : null;

        var outcome = Process(Channel.Store, sample);

        Assert.Equal(IngestDisposition.Flagged, outcome.Disposition);
        Assert.Equal(["identity_conflict"], outcome.ReasonCodes);
        Assert.Equal([IdentifierType.Phone, IdentifierType.Loyalty], outcome.Event!.Identifiers.Select(i => i.Type).Order());
        Assert.Equal(["identity_conflict"], outcome.Event.Flags);
        var reason = Assert.Single(outcome.Quarantine!.Reasons);
        Assert.Equal(("identity_conflict", "email"), (reason.Code, reason.Field));
        Assert.Equal(QuarantineDisposition.Flagged, outcome.Quarantine.Disposition);
        var written = Encoding.UTF8.GetString(QuarantineJson.Serialize(outcome.Quarantine)) + Encoding.UTF8.GetString(CanonicalJson.Serialize(outcome.Event));
        Assert.DoesNotContain("test@example", written, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(blockedPseudonym!, written, StringComparison.Ordinal);
    }

    [Fact]
    public void Process_BlockedCardAsTheOnlyIdentifier_IsQuarantined()
    {
        var sample = Sample(Channel.Store, s =>
        {
            s.Remove("email");
            s.Remove("phone");
            s["loyalty_id"] = "demo-7";
        });

        var outcome = Process(Channel.Store, sample);

        Assert.Equal(IngestDisposition.Quarantined, outcome.Disposition);
        Assert.Equal(["identity_conflict"], outcome.ReasonCodes);
        Assert.Null(outcome.Event);
    }

    [Fact]
    public void Process_BlockedSocialHandle_IsLeftOut()
    {
        var outcome = Process(Channel.Social, Sample(Channel.Social, s => s["handle"] = "@demostore"));

        Assert.Equal(IngestDisposition.Flagged, outcome.Disposition);
        Assert.Equal([IdentifierType.Email], outcome.Event!.Identifiers.Select(i => i.Type));
    }

    [Fact]
    public void Process_PipelinesWithAndWithoutABlockedList_OnOneThread_EachJudgeByTheirOwn()
    {
        // Each thread reuses one identifier set from record to record: a pipeline must never judge with another's list.
        var blocking = new IngestPipeline(Pseudonymizer(), Options.Create(new IngestOptions()), new FixedTimeProvider(Now), Blocked());
        var plain = IngestTestKit.Pipeline();
        var record = Encoding.UTF8.GetBytes(Sample(Channel.Store, s => s["email"] = "test@example.com").ToJsonString());
        var consent = Encoding.UTF8.GetBytes(Sample(Channel.Consent, s => s["identifier"] = "test@example.com").ToJsonString());

        Assert.Equal(IngestDisposition.Flagged, blocking.Process(Channel.Store, Source, record).Disposition);
        Assert.Equal(IngestDisposition.Accepted, plain.Process(Channel.Store, Source, record).Disposition);
        Assert.Equal(IngestDisposition.Flagged, blocking.Process(Channel.Store, Source, record).Disposition);
        Assert.Equal(IngestDisposition.Accepted, blocking.Process(Channel.Consent, Source, consent).Disposition);
        Assert.Equal(IngestDisposition.Flagged, blocking.Process(Channel.Store, Source, record).Disposition);
    }

    [Fact]
    public void Process_ConsentForABlockedIdentifier_StillReachesTheProfilesWorker()
    {
        // Profiles linked through it before it was blocked must still be erasable.
        var outcome = Process(Channel.Consent, Sample(Channel.Consent, s => s["identifier"] = "test@example.com"));

        Assert.Equal(IngestDisposition.Accepted, outcome.Disposition);
        Assert.NotNull(outcome.Consent);
    }
}
