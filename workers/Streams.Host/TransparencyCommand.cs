using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Streams.Contracts.Identifiers;
using Streams.Infrastructure.Hosting;
using Streams.Ingest;
using Streams.Ingest.Pseudonymization;
using Streams.Profiles.Store;
using Streams.Segmentation.Store;

namespace Streams.Host;

/// <summary>
/// <c>whois &lt;email|phone|loyalty|device|social&gt;</c>: reads raw identifiers from standard input, one per line (at a
/// terminal, one from a prompt that does not echo it), pseudonymizes each with the configured key, and prints, as JSON,
/// everything held about that person's profile, one document per identifier. The raw value is used only in memory:
/// never taken from the command line (ps and shell history show that), never printed. It never makes a key.
/// </summary>
internal static class TransparencyCommand
{
    public const string Name = "whois";

    private const string Usage = "usage: Streams.Host whois <email|phone|loyalty|device|social> [--Key=Value …] < identifiers " +
                                 "(one per line; social: platform:handle; at a terminal it asks, without echo)";

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length < 2 || !TryParseType(args[1], out var type))
        {
            await Console.Error.WriteLineAsync(Usage).ConfigureAwait(false);
            return StreamsHost.ExitConfiguration;
        }

        if (args.Skip(2).Any(a => !a.StartsWith("--", StringComparison.Ordinal)))
        {
            await Console.Error.WriteLineAsync(
                "streams: whois reads the identifier from standard input, not from the command line (where ps and the shell's " +
                "history would show it): type it at the prompt, or pipe it in, one per line (whois email < file). " +
                "Only --Key=Value settings may follow the type.").ConfigureAwait(false);
            return StreamsHost.ExitConfiguration;
        }

        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new Microsoft.Extensions.Hosting.HostApplicationBuilderSettings
        {
            Args = args[2..],
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Logging.ClearProviders();
        builder.Services.AddOptions<KafkaOptions>().BindConfiguration(KafkaOptions.Section);
        builder.Services.AddOptions<StreamsOptions>().BindConfiguration(StreamsOptions.Section);
        // A key made up here would match nobody and would become the key the next host uses.
        builder.Services.AddSingleton(DevelopmentKeyPolicy.ReadOnly);
        builder.Services.AddIngestPipeline();
        using var host = builder.Build();

        var streams = host.Services.GetRequiredService<IOptions<StreamsOptions>>().Value;
        var pseudonymizer = host.Services.GetRequiredService<Pseudonymizer>();
        var connectionString = ConnectionString(builder.Configuration, streams);
        if (connectionString is null)
        {
            await Console.Error.WriteLineAsync("streams: no database: set ConnectionStrings:Profiles, or run this next to a running host " +
                                               "(it reads <state dir>/postgres).").ConfigureAwait(false);
            return StreamsHost.ExitConfiguration;
        }

        await Console.Error.WriteLineAsync($"whois: pseudonyms made with key '{pseudonymizer.KeyId}' ({KeySource(builder.Configuration, streams, pseudonymizer.KeyId)}), " +
                                           "looked up under every configured key").ConfigureAwait(false);
        var interactive = !Console.IsInputRedirected;
        var json = new JsonSerializerOptions { WriteIndented = !Console.IsOutputRedirected };
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        var (lineNumber, identifiers, invalid) = (0, 0, 0);
        while ((interactive ? ReadHidden($"{args[1].ToLowerInvariant()} (not shown): ") : await Console.In.ReadLineAsync().ConfigureAwait(false))
               is { } line)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            identifiers++;
            if (pseudonymizer.LookupPseudonyms(type, line) is { Count: > 0 } pseudonyms)
            {
                var report = await ProfileInspector.DescribeAsync(dataSource, args[1].ToLowerInvariant(), pseudonyms,
                        async (profileId, token) => await SegmentDirectory.AssignmentJsonAsync(dataSource, profileId, token).ConfigureAwait(false) is { } assignment
                            ? JsonNode.Parse(assignment)
                            : null,
                        CancellationToken.None)
                    .ConfigureAwait(false);
                report["key_id"] = pseudonymizer.KeyId;
                Console.WriteLine(report.ToJsonString(json));
            }
            else
            {
                invalid++;
                // Never the value itself: the line number is enough to find it.
                await Console.Error.WriteLineAsync($"whois: line {lineNumber}: not a valid {args[1].ToLowerInvariant()} identifier")
                    .ConfigureAwait(false);
            }

            if (interactive)
            {
                break;
            }
        }

        if (identifiers == 0)
        {
            await Console.Error.WriteLineAsync("streams: no identifier on standard input. " + Usage).ConfigureAwait(false);
            return StreamsHost.ExitConfiguration;
        }

        return invalid == 0 ? StreamsHost.ExitOk : StreamsHost.ExitFailure;
    }

    private static string KeySource(IConfiguration configuration, StreamsOptions streams, string keyId) =>
        configuration.GetSection(PseudonymizationOptions.SectionName).GetSection("Keys").GetChildren().Any()
            ? $"Pseudonymization:Keys:{keyId}"
            : "the development key " + DevelopmentKey.PathIn(streams.StateDir);

    // Keys are read one by one with echo off; Backspace works, Enter ends, Ctrl-D/Escape on an empty line gives up.
    internal static string? ReadHidden(string prompt)
    {
        Console.Error.Write(prompt);
        var value = new StringBuilder();
        while (true)
        {
            var key = Console.ReadKey(intercept: true);
            if (key.Key == ConsoleKey.Enter)
            {
                Console.Error.WriteLine();
                return value.ToString();
            }

            if (key.Key == ConsoleKey.Backspace)
            {
                value.Length = Math.Max(0, value.Length - 1);
            }
            else if ((key.Key == ConsoleKey.Escape || (key.Key == ConsoleKey.D && key.Modifiers == ConsoleModifiers.Control)) && value.Length == 0)
            {
                Console.Error.WriteLine();
                return null;
            }
            else if (!char.IsControl(key.KeyChar))
            {
                value.Append(key.KeyChar);
            }
        }
    }

    /// <summary>The database of a running host: the configured connection string, else the one in its state dir.</summary>
    internal static string? ConnectionString(IConfiguration configuration, StreamsOptions streams)
    {
        if (configuration.GetConnectionString(StreamsEnvironment.ConnectionName) is { Length: > 0 } configured)
        {
            return configured;
        }

        var file = Path.Combine(Path.GetFullPath(streams.StateDir), StreamsEnvironment.PostgresFile);
        if (!File.Exists(file))
        {
            return null;
        }

        // It holds the throwaway cluster's password.
        OwnerOnly.RequireFile(file, "the database connection file");
        return File.ReadAllText(file).Trim();
    }

    private static bool TryParseType(string name, out IdentifierType type) => IdentifierTypeNames.TryParse(name.ToLowerInvariant(), out type);
}
