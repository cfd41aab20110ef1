using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Streams.Contracts.Topics;
using Streams.Infrastructure.Postgres;
using Streams.Segmentation.Engine;
using Streams.Segmentation.Store;
using Streams.Segmentation.Worker;

namespace Streams.Segmentation;

public static class SegmentationExtensions
{
    /// <summary>Adds the segmentation worker: profiles in, segments and the segment catalog out.</summary>
    public static IHostApplicationBuilder AddSegmentation(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<SegmentationOptions>().BindConfiguration(SegmentationOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton(new MigrationAssembly(typeof(SegmentationExtensions).Assembly));
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.TryAddSingleton(sp => new SegmentationEngine(
            sp.GetRequiredService<IOptions<SegmentationOptions>>().Value, sp.GetRequiredService<TopicCatalog>()));
        builder.Services.TryAddSingleton<SegmentationMetrics>();
        builder.Services.TryAddSingleton<SegmentationCheckpointStore>();
        builder.Services.AddSingleton<SegmentationWorker>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<SegmentationWorker>());
        return builder;
    }
}
