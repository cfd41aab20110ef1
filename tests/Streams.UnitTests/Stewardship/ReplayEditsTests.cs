using System.Text;
using System.Text.Json;
using Streams.Contracts;
using Streams.Ingest;
using Streams.Quality.Stewardship;

namespace Streams.UnitTests.Stewardship;

public sealed class ReplayEditsTests
{
    private const string Store = """
        {"event_id":"e-1","occurred_at":"2026-11-28T10:00:00Z","store_id":"S-1","loyalty_id":"L-77","email":"ada@example.org",
         "phone":"+12125550100","customer_name":"Ada Lovelace","total":25,"currency":"ZZZ","items":[{"sku":"A","category":"c","quantity":1,"unit_price":25}]}
        """;

    /// <summary>Every field of CONTRACT.md §2 that is personal or decides whose record it is.</summary>
    public static TheoryData<Channel, string> NeverEditable => new()
    {
        { Channel.Clickstream, "anonymous_id" }, { Channel.Clickstream, "email" }, { Channel.Clickstream, "url" }, { Channel.Clickstream, "ip" },
        { Channel.Clickstream, "user_agent" }, { Channel.Clickstream, "event_id" },
        { Channel.Store, "loyalty_id" }, { Channel.Store, "email" }, { Channel.Store, "phone" }, { Channel.Store, "customer_name" }, { Channel.Store, "event_id" },
        { Channel.Callcenter, "phone" }, { Channel.Callcenter, "email" }, { Channel.Callcenter, "customer_name" }, { Channel.Callcenter, "transcript" },
        { Channel.Social, "handle" }, { Channel.Social, "email" }, { Channel.Social, "text" }, { Channel.Social, "platform" },
        { Channel.Consent, "identifier" }, { Channel.Consent, "identifier_type" }, { Channel.Consent, "action" }, { Channel.Consent, "event_id" },
    };

    [Theory]
    [MemberData(nameof(NeverEditable))]
    public void Apply_PersonalOrIdentityField_IsRefused_WithoutEchoingTheValue(Channel channel, string field)
    {
        Assert.DoesNotContain(field, ReplayEdits.EditableFields(channel));
        var edited = ReplayEdits.Apply(channel, "{}"u8, new Dictionary<string, string> { [field] = "\"grace.hopper@example.org\"" }, out var refusal);
        Assert.Null(edited);
        Assert.Contains(field, refusal, StringComparison.Ordinal);
        Assert.DoesNotContain("grace", refusal, StringComparison.Ordinal);
    }

    [Fact]
    public void Apply_Currency_ChangesOnlyThatField_AndKeepsTheRestAsItWas()
    {
        var edited = ReplayEdits.Apply(Channel.Store, Encoding.UTF8.GetBytes(Store), new Dictionary<string, string> { ["currency"] = "\"EUR\"" }, out var refusal);
        Assert.Null(refusal);
        using var json = JsonDocument.Parse(edited!);
        Assert.Equal("EUR", json.RootElement.GetProperty("currency").GetString());
        Assert.Equal("ada@example.org", json.RootElement.GetProperty("email").GetString());
        Assert.Equal(25, json.RootElement.GetProperty("items")[0].GetProperty("unit_price").GetInt32());
    }

    [Fact]
    public void Apply_SeveralFields_AndNullRemovesOne()
    {
        var edited = ReplayEdits.Apply(Channel.Store, Encoding.UTF8.GetBytes(Store), new Dictionary<string, string>
        {
            ["occurred_at"] = "\"2026-11-28T11:00:00Z\"", ["total"] = "30.5", ["items"] = "[{\"sku\":\"B\",\"category\":\"c\",\"quantity\":2,\"unit_price\":15.25}]",
            ["store_id"] = "null",
        }, out _);
        using var json = JsonDocument.Parse(edited!);
        Assert.Equal(30.5, json.RootElement.GetProperty("total").GetDouble());
        Assert.Equal("B", json.RootElement.GetProperty("items")[0].GetProperty("sku").GetString());
        Assert.False(json.RootElement.TryGetProperty("store_id", out _));
    }

    [Theory]
    [InlineData("page_category", "\"mail ada@example.org\"")]
    [InlineData("page_category", "{\"x\":[\"ada@example.org\"]}")]
    [InlineData("currency", "\"EUR")]
    [InlineData("currency", "EUR")]
    public void Apply_ValueThatIsNotJsonOrHoldsAnAt_IsRefused(string field, string value)
    {
        Assert.Null(ReplayEdits.Apply(Channel.Clickstream, "{\"event_id\":\"e\"}"u8, new Dictionary<string, string> { [field] = value }, out var refusal));
        Assert.DoesNotContain("ada", refusal, StringComparison.Ordinal);
    }

    [Fact]
    public void Apply_ValueLongerThanTheLimit_IsRefused() =>
        Assert.Null(ReplayEdits.Apply(Channel.Store, "{}"u8,
            new Dictionary<string, string> { ["store_id"] = "\"" + new string('x', ReplayEdits.MaxValueLength) + "\"" }, out _));

    [Theory]
    [InlineData("[1,2]")]
    [InlineData("not json")]
    [InlineData("{\"currency\":\"A\",\"currency\":\"B\"}")]
    public void Apply_OriginalNotAJsonObject_CanOnlyBeReplayedUnchanged(string original)
    {
        Assert.Null(ReplayEdits.Apply(Channel.Store, Encoding.UTF8.GetBytes(original), new Dictionary<string, string> { ["currency"] = "\"EUR\"" }, out var refusal));
        Assert.Contains("unchanged", refusal, StringComparison.Ordinal);
    }

    [Fact]
    public void Apply_FieldNameThatIsNotOne_IsNotEchoed()
    {
        ReplayEdits.Apply(Channel.Store, "{}"u8, new Dictionary<string, string> { ["ada@example.org"] = "1" }, out var refusal);
        Assert.DoesNotContain("ada", refusal, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("steward-ops", true)]
    [InlineData("a.b_c-1", true)]
    [InlineData("ada@example.org", false)]
    [InlineData("+442079460958", false)]
    [InlineData("12125550100", false)]
    [InlineData("", false)]
    [InlineData("ada lovelace", false)]
    [InlineData("ñandú", false)]
    public void IsStewardName_OperatorAccountNamesOnly(string name, bool expected) => Assert.Equal(expected, ReplayEdits.IsStewardName(name));

    [Fact]
    public void IsStewardName_LongerThan64_IsRefused() => Assert.False(ReplayEdits.IsStewardName(new string('a', 65)));
}
