using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Configuration;
using Streams.Profiles.Identity;

namespace Streams.UnitTests.Profiles;

public sealed class IdentityOptionsTests
{
    private static IdentityOptions Bind(params (string Key, string Value)[] settings)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => KeyValuePair.Create(s.Key, (string?)s.Value)))
            .Build();
        var options = new IdentityOptions();
        configuration.GetSection(IdentityOptions.SectionName).Bind(options);
        return options;
    }

    [Fact]
    public void Bind_Nothing_GivesTheContractsDefaults() =>
        Assert.Equal(new IdentityCaps(5, 5, 3, 20, 10), Bind().Caps);

    [Fact]
    public void Bind_LowerCaseTypeKeys_SetTheirCaps()
    {
        var options = Bind(("Identity:MaxPerType:email", "7"), ("Identity:MaxPerType:loyalty", "1"), ("Identity:MaxPerType:social", "2"));

        Assert.Equal(new IdentityCaps(Email: 7, Loyalty: 1, Social: 2), options.Caps);
    }

    [Theory]
    [InlineData("email", "0")]
    [InlineData("device", "-1")]
    [InlineData("phone", "100001")]
    public void Validate_CapOutOfRange_IsAnError(string type, string value)
    {
        var options = Bind(($"Identity:MaxPerType:{type}", value));
        var results = new List<ValidationResult>();

        Assert.False(Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true));
        Assert.Contains(results, r => r.MemberNames.Any(m => m.EndsWith(type, StringComparison.OrdinalIgnoreCase)));
    }

    [Theory]
    [InlineData("1023", false)]
    [InlineData("1024", true)]
    [InlineData("536870912", true)]
    [InlineData("536870913", false)]
    public void Validate_SplitLineageBound_FromOneKibToHalfAGib(string value, bool valid)
    {
        var options = Bind(("Identity:MaxSplitLineageBytes", value));

        Assert.Equal(long.Parse(value, System.Globalization.CultureInfo.InvariantCulture), options.MaxSplitLineageBytes);
        Assert.Equal(valid, Validator.TryValidateObject(options, new ValidationContext(options), [], validateAllProperties: true));
    }

    [Fact]
    public void Bind_Nothing_BoundsASplitAt128Mib() => Assert.Equal(128L * 1024 * 1024, Bind().MaxSplitLineageBytes);

    [Fact]
    public void Validate_Defaults_AreValid()
    {
        var options = new IdentityOptions();
        Assert.True(Validator.TryValidateObject(options, new ValidationContext(options), [], validateAllProperties: true));
    }
}
