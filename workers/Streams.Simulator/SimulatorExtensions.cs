using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Streams.Simulator.Publishing;

namespace Streams.Simulator;

public static class SimulatorExtensions
{
    /// <summary>The <c>Simulator</c> section (what to generate and how to send it), validated, and the metrics.</summary>
    public static IServiceCollection AddSimulatorOptions(this IServiceCollection services)
    {
        services.AddOptions<SimulatorOptions>().BindConfiguration(SimulatorRunOptions.Section).ValidateOnStart();
        services.AddOptions<SimulatorRunOptions>().BindConfiguration(SimulatorRunOptions.Section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SimulatorOptions>, SimulatorOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SimulatorRunOptions>, SimulatorOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<SimulatorOptions>, PipelineLimits>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<SimulatorMetrics>();
        return services;
    }

    /// <summary>
    /// Adds the simulator worker. It runs when <c>Simulator:Enabled</c> says so, by default only with the embedded broker.
    /// </summary>
    public static IHostApplicationBuilder AddSimulator(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSimulatorOptions();
        builder.Services.AddSingleton<SimulatorWorker>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<SimulatorWorker>());
        return builder;
    }

    /// <summary>
    /// Unless the <c>Simulator</c> section says otherwise, oversized records are made just larger than the pipeline's
    /// <c>Ingest:MaxRecordBytes</c> and the family card is sized against its <c>Identity:MaxPerType:email</c>, so the
    /// ground truth is what this pipeline must report.
    /// </summary>
    private sealed class PipelineLimits(IConfiguration configuration) : IPostConfigureOptions<SimulatorOptions>
    {
        public void PostConfigure(string? name, SimulatorOptions options)
        {
            if (configuration[$"{SimulatorRunOptions.Section}:{nameof(SimulatorOptions.MaxRecordBytes)}"] is null
                && int.TryParse(configuration["Ingest:MaxRecordBytes"], NumberStyles.Integer, CultureInfo.InvariantCulture, out var bytes))
            {
                options.MaxRecordBytes = bytes;
            }

            if (configuration[$"{SimulatorRunOptions.Section}:{nameof(SimulatorOptions.MaxEmailsPerProfile)}"] is null
                && int.TryParse(configuration["Identity:MaxPerType:email"], NumberStyles.Integer, CultureInfo.InvariantCulture, out var emails))
            {
                options.MaxEmailsPerProfile = emails;
            }

            if (configuration[$"{SimulatorRunOptions.Section}:{nameof(SimulatorOptions.BlockedEmail)}"] is null
                && configuration["Identity:Blocked:Values:email:0"] is { Length: > 0 } blocked)
            {
                options.BlockedEmail = blocked;
            }
        }
    }
}
