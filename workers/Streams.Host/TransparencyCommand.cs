using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Streams.Infrastructure.Hosting;
using Streams.Ingest;
using Streams.Ingest.Pseudonymization;
using Streams.Profiles.Store;

namespace Streams.Host;

/// <summary>
/// <c>whois &lt;email|phone|loyalty|device|social&gt; &lt;value&gt;</c>: pseudonymizes a raw identifier with the configured
/// key and prints, as JSON, everything held about that person's profile. The raw value is used only in memory.
/// </summary>
internal static class TransparencyCommand
{
    public const string Name = "whois";

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length < 3 || !TryParseType(args[1], out var type))
        {
            await Console.Error.WriteLineAsync("usage: Streams.Host whois <email|phone|loyalty|device|social> <value> [--Key=Value …]" +
                                               " (social: platform:handle)").ConfigureAwait(false);
            return StreamsHost.ExitConfiguration;
        }

        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new Microsoft.Extensions.Hosting.HostApplicationBuilderSettings
        {
            Args = args[3..],
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Logging.ClearProviders();
        builder.Services.AddOptions<KafkaOptions>().BindConfiguration(KafkaOptions.Section);
        builder.Services.AddOptions<StreamsOptions>().BindConfiguration(StreamsOptions.Section);
        builder.Services.AddIngestPipeline();
        using var host = builder.Build();

        var pseudonymizer = host.Services.GetRequiredService<Pseudonymizer>();
        if (!pseudonymizer.TryPseudonymize(type, args[2], out var pseudonym))
        {
            await Console.Error.WriteLineAsync($"'{args[1]}' value is not a valid identifier of that type.").ConfigureAwait(false);
            return StreamsHost.ExitConfiguration;
        }

        var connectionString = ConnectionString(builder.Configuration, host.Services.GetRequiredService<IOptions<StreamsOptions>>().Value);
        if (connectionString is null)
        {
            await Console.Error.WriteLineAsync("No database: set ConnectionStrings:Profiles, or run this next to a running host (it reads " +
                                               "<state dir>/postgres).").ConfigureAwait(false);
            return StreamsHost.ExitConfiguration;
        }

        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        var report = await ProfileInspector.DescribeAsync(dataSource, args[1].ToLowerInvariant(), pseudonym, CancellationToken.None)
            .ConfigureAwait(false);
        Console.WriteLine(report.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        return StreamsHost.ExitOk;
    }

    private static string? ConnectionString(IConfiguration configuration, StreamsOptions streams)
    {
        if (configuration.GetConnectionString(StreamsEnvironment.ConnectionName) is { Length: > 0 } configured)
        {
            return configured;
        }

        var file = Path.Combine(Path.GetFullPath(streams.StateDir), "postgres");
        return File.Exists(file) ? File.ReadAllText(file).Trim() : null;
    }

    private static bool TryParseType(string name, out IdentifierType type)
    {
        (var ok, type) = name.ToLowerInvariant() switch
        {
            "email" => (true, IdentifierType.Email),
            "phone" => (true, IdentifierType.Phone),
            "loyalty" => (true, IdentifierType.Loyalty),
            "device" => (true, IdentifierType.Device),
            "social" => (true, IdentifierType.Social),
            _ => (false, default),
        };
        return ok;
    }
}
