using System.Diagnostics.Metrics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Spectre.Console;
using Streams.Dashboard.Figures;
using Streams.Dashboard.Hosting;
using Streams.Infrastructure.Hosting;

namespace Streams.Dashboard;

public static class DashboardExtensions
{
    /// <summary>The log file while the live view owns the console, relative to the state dir.</summary>
    public const string LogFileName = "streams.log";

    /// <summary>
    /// Adds the exit report and, when <c>Console:Live</c> says so (by default: when standard output is a terminal), the live
    /// view, with log lines moved from the console to <c>&lt;state dir&gt;/streams.log</c>. Call after
    /// <see cref="StreamsEnvironmentExtensions.AddStreamsEnvironment"/>.
    /// </summary>
    public static IHostApplicationBuilder AddDashboard(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.AddOptions<DashboardOptions>().BindConfiguration(DashboardOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton(sp => new MeasurementCollector(sp.GetService<IMeterFactory>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<DashboardSampler>();

        // Hosted services stop in reverse order: right after the environment's service, the report is written once
        // every worker has stopped (their last batch counted) and before the broker and the database go away.
        var environment = services.Select((d, i) => (d, i))
            .LastOrDefault(p => p.d.ServiceType == typeof(IHostedService) && p.d.ImplementationType == typeof(StreamsEnvironmentService));
        if (environment.d is null)
        {
            throw new InvalidOperationException("AddDashboard needs AddStreamsEnvironment first.");
        }

        services.Insert(environment.i + 1, ServiceDescriptor.Singleton<IHostedService, ExitReportService>());

        var options = builder.Configuration.GetSection(DashboardOptions.Section).Get<DashboardOptions>() ?? new DashboardOptions();
        if (options.IsLive(Console.IsOutputRedirected))
        {
            var stateDir = builder.Configuration.GetSection(StreamsOptions.Section).Get<StreamsOptions>()?.StateDir ?? new StreamsOptions().StateDir;
            var logFile = Path.Combine(Path.GetFullPath(stateDir), LogFileName);
            // Log lines written to the console would tear the view apart: they go to a file, and the view says which.
            services.RemoveAll(d => d.ServiceType == typeof(ILoggerProvider) && d.ImplementationType == typeof(ConsoleLoggerProvider));
            services.AddSingleton<ILoggerProvider>(sp => new FileLoggerProvider(logFile, sp.GetRequiredService<TimeProvider>()));
            services.TryAddSingleton(_ => AnsiConsole.Console);
            services.AddHostedService(sp =>
            {
                var sampler = sp.GetRequiredService<DashboardSampler>();
                sampler.LogFile = logFile;
                return ActivatorUtilities.CreateInstance<LiveViewService>(sp);
            });
        }

        return builder;
    }

    private static void RemoveAll(this IServiceCollection services, Func<ServiceDescriptor, bool> match)
    {
        for (var i = services.Count - 1; i >= 0; i--)
        {
            if (match(services[i]))
            {
                services.RemoveAt(i);
            }
        }
    }
}
