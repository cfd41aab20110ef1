using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Streams.Contracts.Topics;
using Streams.Infrastructure.Kafka;
using Streams.Infrastructure.Postgres;

namespace Streams.Infrastructure.Hosting;

public static class StreamsEnvironmentExtensions
{
    /// <summary>
    /// Registers the options, the topic catalog and the <see cref="StreamsEnvironment"/>, started by a hosted service
    /// registered here, so before every worker added after this call, and stopped after them.
    /// </summary>
    public static IHostApplicationBuilder AddStreamsEnvironment(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<StreamsOptions>().BindConfiguration(StreamsOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<KafkaOptions>().BindConfiguration(KafkaOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<TopicsOptions>().BindConfiguration(TopicsOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<WorkerHeartbeats>();
        builder.Services.AddSingleton(sp => new TopicCatalog(sp.GetRequiredService<IOptions<TopicsOptions>>().Value));
        builder.Services.AddSingleton<TopicProvisioner>();
        builder.Services.AddSingleton(new MigrationAssembly(typeof(MigrationRunner).Assembly));
        builder.Services.AddSingleton<StreamsEnvironment>();
        builder.Services.AddHostedService<StreamsEnvironmentService>();
        return builder;
    }
}

/// <summary>Starts the environment before the workers and tears it down after them.</summary>
internal sealed class StreamsEnvironmentService(StreamsEnvironment environment) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => environment.StartAsync(cancellationToken);

    public async Task StopAsync(CancellationToken cancellationToken) => await environment.DisposeAsync().ConfigureAwait(false);
}
