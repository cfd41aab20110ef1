using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Streams.Activation.Requests;
using Streams.Activation.Worker;
using Streams.Infrastructure.Postgres;
using Streams.Ingest;
using Streams.Profiles;
using Streams.Segmentation;

namespace Streams.Activation;

public static class ActivationExtensions
{
    /// <summary>
    /// Adds the activation worker: audience-join requests in, answers out. It pseudonymizes with ingest's pipeline (same
    /// keys) and reads the profiles and segmentation tables, so their migrations run too, also with <c>--only activation</c>.
    /// </summary>
    public static IHostApplicationBuilder AddActivation(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<ActivationOptions>().BindConfiguration(ActivationOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddIngestPipeline();
        builder.Services.AddSingleton(new MigrationAssembly(typeof(ActivationExtensions).Assembly));
        builder.Services.AddSingleton(new MigrationAssembly(typeof(ProfilesExtensions).Assembly));
        builder.Services.AddSingleton(new MigrationAssembly(typeof(SegmentationExtensions).Assembly));
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.TryAddSingleton<ActivationMatcher>();
        builder.Services.TryAddSingleton<ActivationMetrics>();
        builder.Services.AddSingleton<ActivationWorker>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ActivationWorker>());
        return builder;
    }
}
