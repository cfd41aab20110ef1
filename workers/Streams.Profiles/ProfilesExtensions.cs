using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Streams.Contracts.Topics;
using Streams.Infrastructure.Postgres;
using Streams.Profiles.Identity;
using Streams.Profiles.Processing;
using Streams.Profiles.Worker;

namespace Streams.Profiles;

public static class ProfilesExtensions
{
    /// <summary>Adds the profiles worker: canonical events in, profiles and merges out, state in PostgreSQL.</summary>
    public static IHostApplicationBuilder AddProfiles(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<ProfilesOptions>().BindConfiguration(ProfilesOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<IdentityOptions>().BindConfiguration(IdentityOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton(new MigrationAssembly(typeof(ProfilesExtensions).Assembly));
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.TryAddSingleton<ProfileRecordWriter>();
        builder.Services.TryAddSingleton(sp => new ProfileBatchProcessor(
            sp.GetRequiredService<TopicCatalog>(),
            sp.GetRequiredService<IOptions<IdentityOptions>>().Value.Caps,
            sp.GetRequiredService<ProfileRecordWriter>(),
            sp.GetRequiredService<IOptions<IdentityOptions>>().Value.LineageRetention));
        builder.Services.TryAddSingleton<ProfilesMetrics>();
        builder.Services.TryAddSingleton<Lineage.IMergeOperations, Lineage.MergeOperations>();
        builder.Services.AddSingleton<ProfilesWorker>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ProfilesWorker>());
        return builder;
    }
}
