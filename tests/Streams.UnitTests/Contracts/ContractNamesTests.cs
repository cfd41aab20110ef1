using System.Text.Json;
using Streams.Contracts;
using Streams.Contracts.Canonical;
using Streams.Contracts.Identifiers;

namespace Streams.UnitTests.Contracts;

/// <summary>The name tables the hand-written writers and readers use say what the enums' JSON converters say.</summary>
public sealed class ContractNamesTests
{
    [Fact]
    public void IdentifierTypeNames_AreTheJsonNames_AndParseBack()
    {
        foreach (var type in Enum.GetValues<IdentifierType>())
        {
            var name = IdentifierTypeNames.Name(type);

            Assert.Equal(JsonSerializer.Serialize(type, CanonicalJsonContext.Default.Options), $"\"{name}\"");
            Assert.True(IdentifierTypeNames.TryParse(name, out var parsed));
            Assert.Equal(type, parsed);
            Assert.Equal(name + ":", System.Text.Encoding.UTF8.GetString(IdentifierTypeNames.Utf8Prefix(type)));
        }

        Assert.False(IdentifierTypeNames.TryParse("Email", out _));
    }

    [Fact]
    public void ChannelAndActionNames_AreTheJsonNames()
    {
        foreach (var channel in Enum.GetValues<Channel>())
        {
            Assert.Equal(JsonSerializer.Serialize(channel, CanonicalJsonContext.Default.Options), $"\"{CanonicalNames.ChannelName(channel)}\"");
        }

        foreach (var action in Enum.GetValues<ConsentAction>())
        {
            Assert.Equal(JsonSerializer.Serialize(action, CanonicalJsonContext.Default.Options), $"\"{CanonicalNames.ActionName(action)}\"");
        }
    }
}
