using System.Buffers;

namespace Streams.Ingest.Validation;

/// <summary>
/// The non-personal parts of a URL. Query strings and fragments carry search terms, emails and tokens, and the
/// user-info part carries credentials, so none of them survive; of the path only a category-like first segment does.
/// </summary>
internal static class UrlParts
{
    public const string HomeCategory = "home";

    private const int MaxCategoryLength = 64;

    private static readonly SearchValues<char> Letters = SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ");
    private static readonly SearchValues<char> CategoryChars =
        SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_");

    /// <summary>The URL without user info, query and fragment (for the masked copy in quarantine records).</summary>
    public static string WithoutQuery(string url)
    {
        var value = url.AsSpan();
        var cut = value.IndexOfAny('?', '#');
        if (cut >= 0)
        {
            value = value[..cut];
        }

        var authorityStart = AuthorityStart(value);
        if (authorityStart >= 0)
        {
            var authorityLength = value[authorityStart..].IndexOf('/');
            var authority = authorityLength >= 0 ? value.Slice(authorityStart, authorityLength) : value[authorityStart..];
            var at = authority.LastIndexOf('@');
            if (at >= 0)
            {
                return string.Concat(value[..authorityStart], value[(authorityStart + at + 1)..]);
            }
        }

        return value.Length == url.Length ? url : value.ToString();
    }

    /// <summary>
    /// The first path segment, lower-cased, when it looks like a category (ASCII letters, digits, <c>-</c>, <c>_</c>,
    /// at least one letter): ids, emails and encoded text in a path are not categories. <c>home</c> for the root.
    /// </summary>
    public static string? PathCategory(string url)
    {
        var value = url.AsSpan();
        var cut = value.IndexOfAny('?', '#');
        if (cut >= 0)
        {
            value = value[..cut];
        }

        var authorityStart = AuthorityStart(value);
        if (authorityStart >= 0)
        {
            var pathStart = value[authorityStart..].IndexOf('/');
            value = pathStart >= 0 ? value[(authorityStart + pathStart)..] : [];
        }

        value = value.TrimStart('/');
        var end = value.IndexOf('/');
        var segment = end >= 0 ? value[..end] : value;
        if (segment.IsEmpty)
        {
            return HomeCategory;
        }

        var looksLikeCategory = segment.Length <= MaxCategoryLength
            && !segment.ContainsAnyExcept(CategoryChars) && segment.ContainsAny(Letters);
        return looksLikeCategory ? segment.ToString().ToLowerInvariant() : null;
    }

    /// <summary>Index just after <c>scheme://</c> or a leading <c>//</c>, or -1 for a relative path.</summary>
    private static int AuthorityStart(ReadOnlySpan<char> url)
    {
        if (url.StartsWith("//"))
        {
            return 2;
        }

        var scheme = url.IndexOf("://", StringComparison.Ordinal);
        return scheme > 0 && !url[..scheme].ContainsAny('/', '?') ? scheme + 3 : -1;
    }
}
