using System.Text;
using System.Text.Json;
using Streams.Contracts.Profiles;
using Streams.Contracts.Quarantine;
using Streams.Segmentation.Worker;

namespace Streams.UnitTests.Segmentation;

/// <summary>
/// Records of the <c>profiles</c> topic the profiles worker never writes, at every limit: each gets a CONTRACT §4 reason
/// (never an exception) and a small quarantine record, and none reaches the model with a number it cannot take.
/// </summary>
public sealed class ProfileRecordReaderTests
{
    private const string Id = "p-0123456789abcdef01234567";

    private const string Profile = """
        {"profile_id":"p-0123456789abcdef01234567","identifiers":["k1:abc"],"first_seen":"2026-06-01T00:00:00.000Z",
         "last_seen":"2026-06-20T00:00:00.000Z","event_counts":{"clickstream":1,"store":2,"callcenter":0,"social":0},
         "features":{"event_count":3,"store_spend":120.5,"online_share":0.1},"personalization_allowed":true,"version":4,
         "updated_at":"2026-06-20T00:00:00.000Z"}
        """;

    [Fact]
    public void Read_AProfile_GivesItsFeaturesAndConsent()
    {
        var update = ProfileRecordReader.Read(Encoding.UTF8.GetBytes(Id), Encoding.UTF8.GetBytes(Profile), out var reason);

        Assert.Null(reason);
        Assert.NotNull(update);
        Assert.Equal(Id, update.ProfileId);
        Assert.Equal(120.5, update.Features!["store_spend"]);
        Assert.True(update.PersonalizationAllowed);
    }

    [Fact]
    public void Read_ATombstone_IsTheProfileGoing()
    {
        var update = ProfileRecordReader.Read(Encoding.UTF8.GetBytes(Id), null, out var reason);

        Assert.Null(reason);
        Assert.Equal(Id, update!.ProfileId);
        Assert.Null(update.Features);
    }

    [Fact]
    public void Read_EscapedFeatureNames_AreReadUnescaped()
    {
        var update = ProfileRecordReader.Read(Encoding.UTF8.GetBytes(Id),
            Encoding.UTF8.GetBytes(Profile.Replace("\"store_spend\"", "\"store\\u005fspend\"", StringComparison.Ordinal)), out var reason);

        Assert.Null(reason);
        Assert.Equal(120.5, update!.Features!["store_spend"]);
        Assert.Equal(3, update.Features.Count);
    }

    [Theory]
    [InlineData("1e30")]
    [InlineData("-1e30")]
    [InlineData("0")]
    [InlineData("-0")]
    [InlineData("1E+27")]
    [InlineData("4.9e-324")]
    public void Read_AFeatureAtItsLimits_IsUsed(string number)
    {
        var update = ProfileRecordReader.Read(Encoding.UTF8.GetBytes(Id),
            Encoding.UTF8.GetBytes(Profile.Replace("120.5", number, StringComparison.Ordinal)), out var reason);

        Assert.Null(reason);
        Assert.True(double.IsFinite(update!.Features!["store_spend"]));
    }

    public static TheoryData<string, byte[]?, byte[]?, string> Hostile()
    {
        var data = new TheoryData<string, byte[]?, byte[]?, string>();
        var id = Encoding.UTF8.GetBytes(Id);
        void Add(string name, string? value, string code, byte[]? key = null) =>
            data.Add(name, key ?? id, value is null ? null : Encoding.UTF8.GetBytes(value), code);
        string With(string from, string to) => Profile.Replace(from, to, StringComparison.Ordinal);
        const string Sv = ReasonCodes.SchemaViolation, Mj = ReasonCodes.MalformedJson, Or = ReasonCodes.OutOfRange;

        // Keys.
        data.Add("null key", null, Encoding.UTF8.GetBytes(Profile), Sv);
        data.Add("tombstone with a null key", null, null, Sv);
        data.Add("empty key", [], Encoding.UTF8.GetBytes(Profile), Sv);
        data.Add("key of 1 MB", Encoding.UTF8.GetBytes(new string('k', 1_000_000)), Encoding.UTF8.GetBytes(Profile), Sv);
        data.Add("key of 129 bytes", Encoding.UTF8.GetBytes(new string('k', 129)), null, Sv);
        data.Add("key with a space", Encoding.UTF8.GetBytes("p 1"), null, Sv);
        data.Add("key not UTF-8", [0x70, 0xFF, 0xFE], null, Sv);
        data.Add("key non-ASCII", Encoding.UTF8.GetBytes("p-é"), null, Sv);
        data.Add("key another profile's", Encoding.UTF8.GetBytes("p-other"), Encoding.UTF8.GetBytes(Profile), Sv);

        // Bytes and syntax.
        Add("empty value", "", Mj);
        Add("plain text", "not json", Mj);
        Add("truncated", Profile[..^3], Mj);
        Add("array", "[" + Profile + "]", Mj);
        Add("null literal", "null", Mj);
        Add("nested 100 deep", With("\"version\":4", "\"version\":" + new string('[', 100) + new string(']', 100)), Mj);
        Add("duplicate profile_id", With("\"identifiers\"", "\"profile_id\":\"p-other\",\"identifiers\""), Mj);
        Add("duplicate profile_id, escaped", With("\"identifiers\"", "\"profile\\u005fid\":\"p-other\",\"identifiers\""), Mj);
        Add("duplicate feature", With("\"store_spend\":120.5", "\"store_spend\":120.5,\"store_spend\":1"), Mj);
        Add("duplicate in event_counts", With("\"store\":2", "\"store\":2,\"store\":3"), Mj);
        Add("duplicate deep in an unknown field", With("\"version\":4", "\"version\":4,\"extra\":[{\"a\":{\"b\":1,\"b\":2}}]"), Mj);
        Add("a second value after the object", Profile + " {}", Mj);
        Add("a feature out of range, then truncated", With("120.5", "1e400")[..^3], Mj);
        Add("consent missing, then a duplicate", With("\"personalization_allowed\":true,", "\"version\":5,"), Mj);
        Add("NaN literal", With("120.5", "NaN"), Mj);
        Add("Infinity literal", With("120.5", "-Infinity"), Mj);
        data.Add("invalid UTF-8", id, [.. Encoding.UTF8.GetBytes(Profile[..20]), 0xFF, .. Encoding.UTF8.GetBytes(Profile[20..])], Mj);
        var at = Profile.IndexOf("\"online_share\"", StringComparison.Ordinal);
        data.Add("encoded surrogate in a feature name", id,
            [.. Encoding.UTF8.GetBytes(Profile[..at]), .. "\""u8.ToArray(), 0xED, 0xA0, 0x80, .. Encoding.UTF8.GetBytes(Profile[(at + 13)..])], Mj);
        data.Add("overlong UTF-8 in a feature name", id,
            [.. Encoding.UTF8.GetBytes(Profile[..at]), .. "\""u8.ToArray(), 0xC0, 0xAF, .. Encoding.UTF8.GetBytes(Profile[(at + 13)..])], Mj);
        Add("larger than 1 MiB", With("\"version\":4", "\"version\":\"" + new string('v', 1024 * 1024) + "\""), ReasonCodes.OversizedRecord);

        // profile_id.
        Add("profile_id null", With($"\"{Id}\"", "null"), Sv);
        Add("profile_id missing", With($"\"profile_id\":\"{Id}\",", ""), Sv);
        Add("profile_id a number", With($"\"{Id}\"", "1e400"), Sv);
        Add("profile_id a lone surrogate", With($"\"{Id}\"", "\"\\ud800\""), Sv);
        Add("profile_id differs from the key", With($"\"{Id}\"", "\"p-forged\""), Sv);

        // Consent.
        Add("personalization_allowed missing", With("\"personalization_allowed\":true,", ""), Sv);
        Add("personalization_allowed a string", With("\"personalization_allowed\":true", "\"personalization_allowed\":\"true\""), Sv);
        Add("personalization_allowed null", With("\"personalization_allowed\":true", "\"personalization_allowed\":null"), Sv);
        Add("personalization_allowed 1", With("\"personalization_allowed\":true", "\"personalization_allowed\":1"), Sv);

        // Features.
        Add("features missing", With("\"features\":{\"event_count\":3,\"store_spend\":120.5,\"online_share\":0.1},", ""), Sv);
        Add("features an array", With("{\"event_count\":3,\"store_spend\":120.5,\"online_share\":0.1}", "[3]"), Sv);
        Add("features null", With("{\"event_count\":3,\"store_spend\":120.5,\"online_share\":0.1}", "null"), Sv);
        Add("feature 1e400", With("120.5", "1e400"), Or);
        Add("feature -1e400", With("120.5", "-1e400"), Or);
        Add("feature 1e308", With("120.5", "1e308"), Or);
        Add("feature beyond 1e30", With("120.5", "1.0000001e30"), Or);
        Add("feature NaN string", With("120.5", "\"NaN\""), Sv);
        Add("feature a string", With("120.5", "\"120.5\""), Sv);
        Add("feature null", With("120.5", "null"), Sv);
        Add("feature an object", With("120.5", "{\"a\":1}"), Sv);
        Add("feature name a lone surrogate", With("\"store_spend\"", "\"\\udc00\""), Sv);
        Add("feature name empty", With("\"store_spend\"", "\"\""), Sv);
        Add("feature name of 129 characters", With("\"store_spend\"", "\"" + new string('f', 129) + "\""), Sv);
        Add("257 features", With("\"event_count\":3", string.Join(",", Enumerable.Range(0, 257).Select(i => $"\"f{i}\":1"))), Sv);
        Add("50,000 features", With("\"event_count\":3", string.Join(",", Enumerable.Range(0, 50_000).Select(i => $"\"f{i}\":1"))), Sv);
        return data;
    }

    [Theory]
    [MemberData(nameof(Hostile))]
    public void Read_ARecordTheProfilesWorkerNeverWrites_GetsAReason_AndABoundedQuarantineRecordThatQuotesNothing(
        string name, byte[]? key, byte[]? value, string code)
    {
        var update = ProfileRecordReader.Read(key, value, out var reason);

        Assert.Null(update);
        Assert.NotNull(reason);
        Assert.True(code == reason.Code, $"{name}: {reason.Code} ({reason.Field}: {reason.Detail})");
        var raw = value ?? [];
        var record = InternalQuarantineRecord.Write("profiles", 0, 12, null, reason, raw.Length, InternalQuarantineRecord.Digest(raw),
            DateTimeOffset.UnixEpoch);
        Assert.InRange(record.Length, 1, InternalQuarantineRecord.MaxBytes);
        var json = JsonDocument.Parse(record).RootElement;
        Assert.Equal(JsonValueKind.Null, json.GetProperty("record").ValueKind);
        var text = Encoding.UTF8.GetString(record);
        Assert.DoesNotContain(Id, text, StringComparison.Ordinal);
        Assert.DoesNotContain("forged", text, StringComparison.Ordinal);
        Assert.DoesNotContain("kkkk", text, StringComparison.Ordinal);
    }
}
