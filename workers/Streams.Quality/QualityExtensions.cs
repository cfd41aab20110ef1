using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Streams.Infrastructure.Health;
using Streams.Quality.Alerts;
using Streams.Quality.Figures;
using Streams.Quality.Worker;

namespace Streams.Quality;

public static class QualityExtensions
{
    /// <summary>Adds the data-quality worker: ingest's outputs in, <c>data-quality</c> and <c>data-quality-alerts</c> out.</summary>
    public static IHostApplicationBuilder AddQuality(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<QualityOptions>().BindConfiguration(QualityOptions.Section).ValidateDataAnnotations()
            .Validate(o => Validator.TryValidateObject(o.Alerts, new ValidationContext(o.Alerts), null, validateAllProperties: true),
                $"{QualityOptions.Section}:Alerts has a value out of range (see README, data-quality alerts)")
            .Validate(o => o.Retention >= AlertRules.Lookback(o.Alerts) + o.Window,
                $"{QualityOptions.Section}:Retention must cover the alert rules' window, baseline and silence")
            .ValidateOnStart();
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<QualityWorker>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<QualityWorker>());
        builder.Services.AddSingleton<IEndpointRoute, QualityRoute>();
        builder.Services.AddSingleton<QualityAlertService>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<QualityAlertService>());
        builder.Services.AddSingleton<IQualityReader, QualityReader>();
        return builder;
    }
}
