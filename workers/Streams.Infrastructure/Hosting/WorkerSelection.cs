namespace Streams.Infrastructure.Hosting;

/// <summary>
/// Which workers a host runs: <c>Streams:Workers</c>, or its command-line alias <c>--only</c>. The one list of worker
/// names is here; a new worker is one more entry in <see cref="Names"/>.
/// </summary>
public static class WorkerSelection
{
    public const string Ingest = "ingest";
    public const string Profiles = "profiles";
    public const string Segmentation = "segmentation";
    public const string Activation = "activation";
    public const string Quality = "quality";

    /// <summary>Stands for every worker but the opt-in ones (<see cref="OptIn"/>), which run only when named.</summary>
    public const string All = "all";

    /// <summary>The command-line alias of <c>Streams:Workers</c>: <c>--only ingest</c> or <c>--only=profiles,segmentation</c>.</summary>
    public const string OnlySwitch = "--only";

    /// <summary>Every worker a host can run, in the order the host adds them.</summary>
    public static IReadOnlyList<string> Names { get; } = [Ingest, Profiles, Segmentation, Activation, Quality];

    /// <summary>
    /// Workers that <c>all</c> leaves out: the data-quality figures are for stewards, not part of the pipeline, and a host
    /// pointed at a broker without an admin API must have Streamiz's internal topics made for it first (CONTRACT.md §9.3).
    /// <c>--only all,quality</c> runs everything.
    /// </summary>
    public static IReadOnlyList<string> OptIn { get; } = [Quality];

    /// <summary>
    /// The workers <paramref name="list"/> (comma-separated names or <c>all</c>) selects, in <see cref="Names"/> order.
    /// An unknown name or an empty list is a configuration error naming the valid ones; <paramref name="source"/> says
    /// where the list came from.
    /// </summary>
    public static IReadOnlyList<string> Parse(string? list, string source = StreamsOptions.Section + ":Workers")
    {
        var given = (list ?? string.Empty).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (given.Length == 0)
        {
            throw new StreamsConfigurationException($"{source} names no worker; valid: {Valid}");
        }

        var unknown = given.Where(name => !name.Equals(All, StringComparison.OrdinalIgnoreCase)
            && !Names.Contains(name, StringComparer.OrdinalIgnoreCase)).ToList();
        if (unknown.Count > 0)
        {
            throw new StreamsConfigurationException(
                $"{source} names unknown worker{(unknown.Count > 1 ? "s" : "")} {string.Join(", ", unknown.Select(u => $"'{u}'"))}; valid: {Valid}");
        }

        var all = given.Any(name => name.Equals(All, StringComparison.OrdinalIgnoreCase));
        return [.. Names.Where(name => given.Contains(name, StringComparer.OrdinalIgnoreCase) || (all && !OptIn.Contains(name)))];
    }

    /// <summary>
    /// Rewrites <c>--only LIST</c> and <c>--only=LIST</c> into <c>--Streams:Workers=LIST</c> after checking the list, so
    /// the rest of the host sees one key. Other arguments pass unchanged and in order (the last setting wins).
    /// </summary>
    public static string[] ExpandOnly(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var expanded = new List<string>(args.Length);
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            string? list;
            if (arg.Equals(OnlySwitch, StringComparison.OrdinalIgnoreCase))
            {
                // The next argument is the list, unless there is none or it is another option.
                list = i + 1 < args.Length && !args[i + 1].StartsWith('-') ? args[++i] : null;
            }
            else if (arg.StartsWith(OnlySwitch + "=", StringComparison.OrdinalIgnoreCase))
            {
                list = arg[(OnlySwitch.Length + 1)..];
            }
            else
            {
                expanded.Add(arg);
                continue;
            }

            if (string.IsNullOrWhiteSpace(list))
            {
                throw new StreamsConfigurationException($"{OnlySwitch} needs a comma-separated list of workers; valid: {Valid}");
            }

            _ = Parse(list, OnlySwitch);
            expanded.Add($"--{StreamsOptions.Section}:Workers={list}");
        }

        return [.. expanded];
    }

    private static string Valid => string.Join(", ", Names.Append(All));
}
