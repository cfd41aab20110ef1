using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Streams.Stewards;

public static class StewardsExtensions
{
    /// <summary>Adds the stewards' web console when <c>Stewards:Port</c> is set (README, data stewards).</summary>
    public static IHostApplicationBuilder AddStewards(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<StewardsOptions>().BindConfiguration(StewardsOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        if (builder.Configuration.GetSection(StewardsOptions.Section).Get<StewardsOptions>() is { Enabled: true })
        {
            builder.Services.AddHostedService<StewardsConsole>();
        }

        return builder;
    }
}
