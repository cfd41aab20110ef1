using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Streams.Infrastructure.Postgres;
using Streams.Ingest.Pseudonymization;
using Streams.Ingest.Validation;
using Streams.Ingest.Worker;

namespace Streams.Ingest;

public static class IngestExtensions
{
    /// <summary>The per-record logic of ingest (pseudonymizer, pipeline) and its configuration, without the worker.</summary>
    public static IServiceCollection AddIngestPipeline(this IServiceCollection services)
    {
        services.AddOptions<IngestOptions>().BindConfiguration(IngestOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<PseudonymizationOptions>().BindConfiguration(PseudonymizationOptions.SectionName).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PseudonymizationOptions>, PseudonymizationOptionsValidator>());
        services.TryAddSingleton(DevelopmentKeyPolicy.Create);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<PseudonymizationOptions>, DevelopmentKey>());
        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<IdentityBlockingOptions>().BindConfiguration(IdentityBlockingOptions.SectionName).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<IdentityBlockingOptions>, IdentityBlockingOptionsValidator>());
        services.TryAddSingleton<BlockedIdentifiers>();
        services.TryAddSingleton<Pseudonymizer>();
        services.TryAddSingleton<IngestPipeline>();
        return services;
    }

    /// <summary>Adds the ingest worker: input topics in, canonical events and quarantine records out.</summary>
    public static IHostApplicationBuilder AddIngest(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddIngestPipeline();
        builder.Services.AddOptions<IngestWorkerOptions>().BindConfiguration(IngestOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton(new MigrationAssembly(typeof(IngestExtensions).Assembly));
        builder.Services.TryAddSingleton<IngestMetrics>();
        builder.Services.AddSingleton<IngestWorker>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<IngestWorker>());
        return builder;
    }
}
