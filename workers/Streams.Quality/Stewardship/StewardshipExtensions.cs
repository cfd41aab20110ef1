using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Streams.Contracts.Topics;
using Streams.Infrastructure.Hosting;
using Streams.Infrastructure.Postgres;
using Streams.Ingest;

namespace Streams.Quality.Stewardship;

public static class StewardshipExtensions
{
    /// <summary>
    /// Adds the stewards' side of quarantine: the quarantine-index worker and <see cref="IStewardship"/> (browse, read an
    /// original, replay, audit). Its tables are migration 0500; it reads ingest's de-duplication table to learn whether a
    /// replay was accepted, so ingest's migrations run too. Adding it twice adds it once.
    /// </summary>
    public static IHostApplicationBuilder AddStewardship(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (builder.Services.Any(d => d.ServiceType == typeof(IStewardship)))
        {
            return builder;
        }

        builder.Services.AddOptions<StewardshipOptions>().BindConfiguration(StewardshipOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        // The index checks ingest's seals with the same keys.
        builder.Services.AddIngestPipeline();
        builder.Services.AddSingleton(new MigrationAssembly(typeof(IngestExtensions).Assembly));
        builder.Services.AddSingleton(new MigrationAssembly(typeof(StewardshipExtensions).Assembly));
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<IStewardship>(sp =>
        {
            var environment = sp.GetRequiredService<StreamsEnvironment>();
            return new Stewardship(() => environment.DataSource, () => environment.BootstrapServers, sp.GetRequiredService<TopicCatalog>(),
                sp.GetRequiredService<IOptions<StewardshipOptions>>().Value, sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<ILogger<Stewardship>>());
        });
        builder.Services.AddSingleton<QuarantineIndexWorker>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<QuarantineIndexWorker>());
        return builder;
    }
}
