using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using Streams.Contracts.Topics;
using Streams.Infrastructure.Hosting;
using Streams.Infrastructure.Postgres;
using Streams.Profiles;
using Streams.Profiles.Identity;
using Streams.Profiles.Lineage;
using Streams.Profiles.Processing;

namespace Streams.Host;

/// <summary>
/// <c>unmerge --merge ID</c> and <c>detach --profile ID --identifier PSEUDONYM</c> (CONTRACT §5.4): undo a merge, or take
/// one identifier off a profile, while the workers run. Identifiers are named by pseudonym (as <c>profiles</c> records and
/// <c>whois</c> show them), never by raw value; the pseudonym is never echoed. Prints what it did as one JSON line.
/// </summary>
internal static class UnmergeCommand
{
    public const string Unmerge = "unmerge";
    public const string Detach = "detach";

    private const string Usage = "usage: Streams.Host unmerge --merge ID [--Key=Value …] | " +
                                 "Streams.Host detach --profile ID --identifier PSEUDONYM [--Key=Value …] " +
                                 "(needs Kafka:BootstrapServers of the running brokers and the profiles database)";

    public static async Task<int> RunAsync(string[] args, TextWriter? standardOutput = null)
    {
        string? merge = null, profile = null, identifier = null;
        var settings = new List<string>();
        for (var i = 1; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : null;
            switch (args[i])
            {
                case "--merge" when value is not null && args[0] == Unmerge:
                    merge = value;
                    i++;
                    break;
                case "--profile" when value is not null && args[0] == Detach:
                    profile = value;
                    i++;
                    break;
                case "--identifier" when value is not null && args[0] == Detach:
                    identifier = value;
                    i++;
                    break;
                default:
                    if (!args[i].StartsWith("--", StringComparison.Ordinal) || !args[i].Contains('=', StringComparison.Ordinal))
                    {
                        // Never echoed: it may be an identifier typed in the wrong place.
                        await Console.Error.WriteLineAsync($"streams: {args[0]}: argument {i} is not understood. {Usage}").ConfigureAwait(false);
                        return StreamsHost.ExitConfiguration;
                    }

                    settings.Add(args[i]);
                    break;
            }
        }

        if (args[0] == Unmerge ? merge is null : profile is null || identifier is null)
        {
            await Console.Error.WriteLineAsync(Usage).ConfigureAwait(false);
            return StreamsHost.ExitConfiguration;
        }

        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new Microsoft.Extensions.Hosting.HostApplicationBuilderSettings
        {
            Args = [.. settings],
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Logging.ClearProviders();
        builder.Services.AddOptions<KafkaOptions>().BindConfiguration(KafkaOptions.Section);
        builder.Services.AddOptions<StreamsOptions>().BindConfiguration(StreamsOptions.Section);
        builder.Services.AddOptions<TopicsOptions>().BindConfiguration(TopicsOptions.Section).ValidateDataAnnotations();
        builder.Services.AddOptions<IdentityOptions>().BindConfiguration(IdentityOptions.SectionName).ValidateDataAnnotations();
        using var host = builder.Build();

        var streams = host.Services.GetRequiredService<IOptions<StreamsOptions>>().Value;
        var kafka = host.Services.GetRequiredService<IOptions<KafkaOptions>>().Value;
        // Validated here, before anything reaches the database: a bound given wrong is a configuration error, not a migration.
        var identity = host.Services.GetRequiredService<IOptions<IdentityOptions>>().Value;
        if (kafka.UseEmbedded)
        {
            // The embedded broker lives inside the host's process; the records must go out before the locks are let go.
            await Console.Error.WriteLineAsync($"streams: {args[0]}: set Kafka:BootstrapServers to the brokers the workers use. {Usage}").ConfigureAwait(false);
            return StreamsHost.ExitConfiguration;
        }

        if (TransparencyCommand.ConnectionString(builder.Configuration, streams) is not { } connectionString)
        {
            await Console.Error.WriteLineAsync("streams: no database: set ConnectionStrings:Profiles, or run this next to a running host " +
                                               "(it reads <state dir>/postgres).").ConfigureAwait(false);
            return StreamsHost.ExitConfiguration;
        }

        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await new MigrationRunner(dataSource, NullLogger<MigrationRunner>.Instance).MigrateAsync(Migration.FromAssemblies(
            typeof(MigrationRunner).Assembly, typeof(ProfilesExtensions).Assembly), CancellationToken.None).ConfigureAwait(false);
        var splitter = new ProfileSplitter(dataSource, new TopicCatalog(host.Services.GetRequiredService<IOptions<TopicsOptions>>().Value),
            identity.Caps, identity.MaxSplitLineageBytes, new ProfileRecordWriter(), TimeProvider.System, kafka.BootstrapServers!.Trim(),
            NullLogger.Instance);
        try
        {
            var result = merge is not null ? splitter.Unmerge(merge) : splitter.Detach(profile!, identifier!);
            (standardOutput ?? Console.Out).WriteLine(Describe(args[0], merge, result).ToJsonString());
            return StreamsHost.ExitOk;
        }
        catch (Exception e) when (e is SplitRefusedException or LineageIncompleteException)
        {
            await Console.Error.WriteLineAsync($"streams: {args[0]}: refused, nothing changed: {e.Message}").ConfigureAwait(false);
            return StreamsHost.ExitFailure;
        }
    }

    internal static JsonObject Describe(string kind, string? mergeId, SplitResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var profiles = new JsonArray();
        foreach (var (id, events) in result.Profiles)
        {
            profiles.Add(new JsonObject { ["profile_id"] = id, ["events"] = events });
        }

        return new JsonObject
        {
            ["kind"] = kind,
            ["merge_id"] = mergeId,
            ["from"] = result.From,
            ["profiles"] = profiles,
            ["blocks"] = result.Blocks,
        };
    }
}
