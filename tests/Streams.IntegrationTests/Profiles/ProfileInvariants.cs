using Streams.IntegrationTests.Fixtures;

namespace Streams.IntegrationTests.Profiles;

/// <summary>What must hold between the profiles tables whatever the worker went through.</summary>
internal static class ProfileInvariants
{
    /// <summary>
    /// Each profile row lists exactly the pseudonyms linked to it, in ordinal order, and every link's profile exists: the
    /// list is how a batch finds a profile's links (there is no index by profile), so a drift would lose or fuse links.
    /// </summary>
    public static async Task AssertListsMatchLinksAsync(string connectionString)
    {
        Assert.Equal(0, await Database.CountAsync(connectionString, """
            select count(*) from profiles p
            where p.pseudonyms is distinct from
                  (select coalesce(array_agg(i.pseudonym order by i.pseudonym collate "C"), '{}') from identifiers i where i.profile_id = p.profile_id)
            """));
        Assert.Equal(0, await Database.CountAsync(connectionString,
            "select count(*) from identifiers i where not exists (select 1 from profiles p where p.profile_id = i.profile_id)"));
    }
}
