using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Streams.Contracts;
using Streams.Contracts.Topics;
using Streams.Infrastructure.Hosting;
using Streams.Infrastructure.Postgres;
using Streams.Ingest;
using Streams.Quality.Stewardship;

namespace Streams.Host;

/// <summary>
/// <c>quarantine list|show|replay|audit</c>: the stewards' operations (<see cref="IStewardship"/>) for scripts, against
/// the database and broker of a running host (the same settings: appsettings, environment, <c>--Key=Value</c>; with the
/// embedded broker and the throwaway database, the addresses the host wrote to its state dir). Nothing personal is
/// printed but by <c>show --original</c>, which a steward asks for by name and which is audited.
/// </summary>
internal static class QuarantineCommand
{
    public const string Name = "quarantine";

    /// <summary>The replay was refused because that original was replayed before.</summary>
    public const int ExitAlreadyReplayed = 3;

    /// <summary>The input topic no longer holds the original.</summary>
    public const int ExitPastRetention = 4;

    /// <summary>No quarantine record names that position.</summary>
    public const int ExitNotQuarantined = 5;

    /// <summary>An edit was refused (a field that may not be edited, a value that is not JSON or holds an '@').</summary>
    public const int ExitRefused = 6;

    private const string Usage = """
        usage: Streams.Host quarantine list [--topic T] [--reason CODE] [--since TIME] [--until TIME] [--page N] [--page-size N]
               Streams.Host quarantine show TOPIC:PARTITION:OFFSET [--original --steward NAME]
               Streams.Host quarantine replay TOPIC:PARTITION:OFFSET --steward NAME [--set FIELD=JSON ...]
               Streams.Host quarantine replay --topic T --reason CODE --from TIME --to TIME --steward NAME
               Streams.Host quarantine audit [--limit N] [--steward NAME]
        TIME is RFC 3339 (2026-12-04T12:00:00Z) or an age (30m, 2h, 7d); settings as --Key=Value
        """;

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter errors)
    {
        ArgumentNullException.ThrowIfNull(args);
        var parsed = Parse(args[1..], TimeProvider.System.GetUtcNow());
        if (parsed is null)
        {
            await errors.WriteLineAsync(Usage).ConfigureAwait(false);
            return StreamsHost.ExitConfiguration;
        }

        var configuration = new ConfigurationBuilder()
            .SetBasePath(AppContext.BaseDirectory)
            .AddJsonFile("appsettings.json", optional: true)
            .AddEnvironmentVariables()
            .AddCommandLine([.. parsed.Settings])
            .Build();
        var streams = configuration.GetSection(StreamsOptions.Section).Get<StreamsOptions>() ?? new StreamsOptions();
        var kafka = configuration.GetSection(KafkaOptions.Section).Get<KafkaOptions>() ?? new KafkaOptions();
        var catalog = new TopicCatalog(configuration.GetSection(TopicsOptions.Section).Get<TopicsOptions>() ?? new TopicsOptions());
        var options = configuration.GetSection(StewardshipOptions.Section).Get<StewardshipOptions>() ?? new StewardshipOptions();
        if (TransparencyCommand.ConnectionString(configuration, streams) is not { } connectionString)
        {
            await errors.WriteLineAsync("streams: no database: set ConnectionStrings:Profiles, or run this next to a running host " +
                                        "(it reads <state dir>/postgres).").ConfigureAwait(false);
            return StreamsHost.ExitConfiguration;
        }

        var bootstrapFile = Path.Combine(Path.GetFullPath(streams.StateDir), "bootstrap");
        var bootstrap = !kafka.UseEmbedded ? kafka.BootstrapServers!.Trim()
            : File.Exists(bootstrapFile) ? (await File.ReadAllTextAsync(bootstrapFile).ConfigureAwait(false)).Trim() : null;
        if (bootstrap is null && parsed.Verb is "show" or "replay")
        {
            await errors.WriteLineAsync("streams: no broker: set Kafka:BootstrapServers, or run this next to a running host " +
                                        "(it reads <state dir>/bootstrap).").ConfigureAwait(false);
            return StreamsHost.ExitConfiguration;
        }

        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        try
        {
            // The tables may not exist yet when no quality worker ever ran against this database.
            await new MigrationRunner(dataSource, NullLogger<MigrationRunner>.Instance).MigrateAsync(Migration.FromAssemblies(
                typeof(MigrationRunner).Assembly, typeof(IngestExtensions).Assembly, typeof(StewardshipExtensions).Assembly), CancellationToken.None).ConfigureAwait(false);
            using var stewardship = new Stewardship(() => dataSource, () => bootstrap!, catalog, options, TimeProvider.System, NullLogger<Stewardship>.Instance);
            return parsed.Verb switch
            {
                "list" => await ListAsync(stewardship, parsed, output, errors).ConfigureAwait(false),
                "show" => await ShowAsync(stewardship, parsed, output, errors).ConfigureAwait(false),
                "replay" when parsed.Position is null => await ReplayReasonAsync(stewardship, parsed, output).ConfigureAwait(false),
                "replay" => await ReplayAsync(stewardship, parsed, output, errors).ConfigureAwait(false),
                _ => await AuditAsync(stewardship, parsed, output).ConfigureAwait(false),
            };
        }
        catch (ArgumentException e)
        {
            // A topic that is not an input, a steward name that looks personal: the messages name no value.
            await errors.WriteLineAsync($"streams: quarantine: {e.Message}").ConfigureAwait(false);
            return StreamsHost.ExitConfiguration;
        }
        catch (Exception e) when (e is NpgsqlException or Confluent.Kafka.KafkaException or TimeoutException)
        {
            await errors.WriteLineAsync($"streams: quarantine: {e.GetType().Name}: {e.Message}").ConfigureAwait(false);
            return StreamsHost.ExitFailure;
        }
    }

    private static async Task<int> ListAsync(IStewardship stewardship, QuarantineArguments a, TextWriter output, TextWriter errors)
    {
        var page = await stewardship.BrowseAsync(new QuarantineQuery(a.Topic, a.Reason, a.From, a.To, a.Page, a.PageSize), CancellationToken.None)
            .ConfigureAwait(false);
        await output.WriteLineAsync("position\tquarantined_at\tdisposition\treasons\tevent_id\treplay").ConfigureAwait(false);
        foreach (var e in page.Entries)
        {
            await output.WriteLineAsync(string.Join('\t', StewardPosition.Format(e.Source), Time(e.QuarantinedAt), e.Disposition,
                string.Join(',', e.Reasons.Select(r => r.Code).Distinct()), e.EventId ?? "-", e.LastReplayOutcome ?? "-")).ConfigureAwait(false);
        }

        await errors.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"quarantine: {page.Entries.Count} of {page.Total} (page {a.Page}, {a.PageSize} a page)")).ConfigureAwait(false);
        return StreamsHost.ExitOk;
    }

    private static async Task<int> ShowAsync(IStewardship stewardship, QuarantineArguments a, TextWriter output, TextWriter errors)
    {
        var entry = await stewardship.FindAsync(a.Position!, CancellationToken.None).ConfigureAwait(false);
        if (entry is null)
        {
            await errors.WriteLineAsync($"quarantine: no quarantine record names {StewardPosition.Format(a.Position!)}").ConfigureAwait(false);
            return ExitNotQuarantined;
        }

        if (!a.Original)
        {
            using var masked = entry.MaskedRecordJson is null ? null : JsonDocument.Parse(entry.MaskedRecordJson);
            var view = new QuarantineEntryView(StewardPosition.Format(entry.Source), entry.EventId, entry.Disposition, entry.Reasons,
                masked?.RootElement, entry.QuarantinedAt, entry.LastReplayOutcome);
            await output.WriteLineAsync(JsonSerializer.Serialize(view, StewardshipCommandJsonContext.Default.QuarantineEntryView)).ConfigureAwait(false);
            return StreamsHost.ExitOk;
        }

        var original = await stewardship.ReadOriginalAsync(a.Position!, a.Steward!, CancellationToken.None).ConfigureAwait(false);
        if (original.PastRetention)
        {
            await errors.WriteLineAsync("quarantine: the input topic no longer holds the original (past its retention)").ConfigureAwait(false);
            return ExitPastRetention;
        }

        await output.WriteLineAsync(original.ValueJson).ConfigureAwait(false);
        await errors.WriteLineAsync($"quarantine: editable fields: {string.Join(", ", original.EditableFields)}").ConfigureAwait(false);
        return StreamsHost.ExitOk;
    }

    private static async Task<int> ReplayAsync(IStewardship stewardship, QuarantineArguments a, TextWriter output, TextWriter errors)
    {
        var result = await stewardship.ReplayAsync(a.Position!, a.Steward!, a.Edits.Count > 0 ? a.Edits : null, CancellationToken.None).ConfigureAwait(false);
        if (result.Status == ReplayStatus.Replayed)
        {
            await output.WriteLineAsync($"replayed {StewardPosition.Format(result.Source)} as {StewardPosition.Format(result.ReplayedAs!)}").ConfigureAwait(false);
            return StreamsHost.ExitOk;
        }

        await errors.WriteLineAsync($"quarantine: {StewardPosition.Format(result.Source)} not replayed: {result.Status}: {result.Detail}").ConfigureAwait(false);
        return result.Status switch
        {
            ReplayStatus.AlreadyReplayed => ExitAlreadyReplayed,
            ReplayStatus.PastRetention => ExitPastRetention,
            ReplayStatus.NotQuarantined => ExitNotQuarantined,
            _ => ExitRefused,
        };
    }

    private static async Task<int> ReplayReasonAsync(IStewardship stewardship, QuarantineArguments a, TextWriter output)
    {
        var result = await stewardship.ReplayReasonAsync(a.Topic!, a.Reason!, a.From!.Value, a.To!.Value, a.Steward!, CancellationToken.None)
            .ConfigureAwait(false);
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"matched {result.Matched}, replayed {result.Replayed}, skipped {result.Skipped}")).ConfigureAwait(false);
        return StreamsHost.ExitOk;
    }

    private static async Task<int> AuditAsync(IStewardship stewardship, QuarantineArguments a, TextWriter output)
    {
        var entries = await stewardship.AuditAsync(new StewardAuditQuery(a.Limit, a.Steward), CancellationToken.None).ConfigureAwait(false);
        await output.WriteLineAsync("id\tat\tsteward\taction\tposition\toutcome").ConfigureAwait(false);
        foreach (var e in entries)
        {
            await output.WriteLineAsync(string.Join('\t', e.Id.ToString(CultureInfo.InvariantCulture), Time(e.At), e.Steward, e.Action,
                e.Source is null ? "-" : StewardPosition.Format(e.Source), e.Outcome)).ConfigureAwait(false);
        }

        return StreamsHost.ExitOk;
    }

    private static string Time(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    /// <summary>The command's arguments, or null when they do not make one of the usages.</summary>
    internal static QuarantineArguments? Parse(IReadOnlyList<string> args, DateTimeOffset now)
    {
        if (args.Count == 0 || args[0] is not ("list" or "show" or "replay" or "audit"))
        {
            return null;
        }

        var a = new QuarantineArguments { Verb = args[0] };
        for (var i = 1; i < args.Count; i++)
        {
            var arg = args[i];
            var value = i + 1 < args.Count ? args[i + 1] : null;
            var takes = value is not null && arg is "--topic" or "--reason" or "--since" or "--from" or "--until" or "--to" or "--page"
                or "--page-size" or "--steward" or "--set" or "--limit";
            if (takes)
            {
                i++;
            }

            switch (arg)
            {
                case "--topic" when takes: a.Topic = value; break;
                case "--reason" when takes: a.Reason = value; break;
                case "--since" or "--from" when takes: a.From = TimeOf(value!, now) ?? DateTimeOffset.MaxValue; a.Invalid |= TimeOf(value!, now) is null; break;
                case "--until" or "--to" when takes: a.To = TimeOf(value!, now) ?? DateTimeOffset.MinValue; a.Invalid |= TimeOf(value!, now) is null; break;
                case "--page" when takes: a.Page = Number(value!, ref a.Invalid, 0); break;
                case "--page-size" when takes: a.PageSize = Number(value!, ref a.Invalid, 1); break;
                case "--limit" when takes: a.Limit = Number(value!, ref a.Invalid, 1); break;
                case "--steward" when takes: a.Steward = value; break;
                case "--set" when takes && value!.IndexOf('=', StringComparison.Ordinal) is > 0 and var eq:
                    a.Edits[value[..eq]] = AsJson(value[(eq + 1)..]);
                    break;
                case "--original": a.Original = true; break;
                case var position when !position.StartsWith('-') && a.Position is null && StewardPosition.TryParse(position, ':', out var p):
                    a.Position = p;
                    break;
                case var setting when setting.StartsWith("--", StringComparison.Ordinal) && setting.Contains('=', StringComparison.Ordinal):
                    a.Settings.Add(setting);
                    break;
                default:
                    // Never echoed: a mistyped argument may be a value a steward did not mean to show.
                    return null;
            }
        }

        var complete = a.Verb switch
        {
            "show" => a.Position is not null && (!a.Original || a.Steward is not null) && a.Edits.Count == 0,
            "replay" when a.Position is not null => a.Steward is not null && a.Topic is null && a.Reason is null,
            "replay" => a.Steward is not null && a.Topic is not null && a.Reason is not null && a.From is not null && a.To is not null && a.Edits.Count == 0,
            _ => a.Position is null && a.Edits.Count == 0,
        };
        return complete && !a.Invalid ? a : null;
    }

    /// <summary>An edit's value as JSON: taken as it is when it parses, else as a string (<c>--set currency=USD</c>).</summary>
    internal static string AsJson(string value)
    {
        try
        {
            using var _ = JsonDocument.Parse(value);
            return value;
        }
        catch (JsonException)
        {
            return JsonSerializer.Serialize(value, StewardshipCommandJsonContext.Default.String);
        }
    }

    /// <summary>RFC 3339, or an age before <paramref name="now"/>: <c>45s</c>, <c>30m</c>, <c>2h</c>, <c>7d</c>.</summary>
    internal static DateTimeOffset? TimeOf(string text, DateTimeOffset now)
    {
        if (text.Length >= 2 && long.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n < 100_000)
        {
            TimeSpan? age = text[^1] switch
            {
                's' => TimeSpan.FromSeconds(n),
                'm' => TimeSpan.FromMinutes(n),
                'h' => TimeSpan.FromHours(n),
                'd' => TimeSpan.FromDays(n),
                _ => null,
            };
            if (age is { } a)
            {
                return now - a;
            }
        }

        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? at : null;
    }

    private static int Number(string text, ref bool invalid, int min)
    {
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= min)
        {
            return n;
        }

        invalid = true;
        return min;
    }
}

/// <summary>What <see cref="QuarantineCommand.Parse"/> read.</summary>
internal sealed class QuarantineArguments
{
    public required string Verb { get; init; }
    public SourcePosition? Position { get; set; }
    public string? Topic { get; set; }
    public string? Reason { get; set; }
    public DateTimeOffset? From { get; set; }
    public DateTimeOffset? To { get; set; }
    public int Page { get; set; }
    public int PageSize { get; set; } = 50;
    public int Limit { get; set; } = 100;
    public string? Steward { get; set; }
    public bool Original { get; set; }
    public Dictionary<string, string> Edits { get; } = new(StringComparer.Ordinal);
    public List<string> Settings { get; } = [];
    public bool Invalid;
}

/// <summary>A quarantine entry as <c>quarantine show</c> prints it (the masked copy as JSON, not as a string).</summary>
internal sealed record QuarantineEntryView(
    string Source, string? EventId, string Disposition, IReadOnlyList<QuarantineReason> Reasons, JsonElement? Record,
    DateTimeOffset QuarantinedAt, string? LastReplayOutcome);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.SnakeCaseLower)]
[System.Text.Json.Serialization.JsonSerializable(typeof(string))]
[System.Text.Json.Serialization.JsonSerializable(typeof(QuarantineEntryView))]
internal sealed partial class StewardshipCommandJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
