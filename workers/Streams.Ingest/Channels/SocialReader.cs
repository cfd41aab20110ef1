using Streams.Contracts.Canonical;
using Streams.Contracts.Identifiers;
using Streams.Ingest.Pseudonymization;
using Streams.Ingest.Validation;

namespace Streams.Ingest.Channels;

/// <summary>CONTRACT §2.4. The post text is type-checked and then forgotten.</summary>
internal static class SocialReader
{
    public static readonly string[] Interactions = ["mention", "like", "share", "comment", "follow", "review"];

    public static SocialAttributes? Read(FieldReader f, IdentifierSet identifiers)
    {
        var platform = f.Enum("platform", IdentifierNormalizer.SocialPlatforms, required: true);
        identifiers.ReadSocial(f, platform, "handle", FieldLengths.Handle);
        identifiers.Read(f, "email", IdentifierType.Email, FieldLengths.Email);
        var interaction = f.Enum("interaction", Interactions, required: true);
        var sentiment = f.Number("sentiment", min: -1, max: 1);
        var followers = f.Integer("followers", min: 0);
        f.CheckString("text", FieldLengths.FreeText);

        return platform is null || interaction is null ? null : new SocialAttributes(platform, interaction, sentiment, followers);
    }
}
