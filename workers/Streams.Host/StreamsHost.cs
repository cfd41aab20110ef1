using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;
using Streams.Activation;
using Streams.Contracts.Topics;
using Streams.Dashboard;
using Streams.Infrastructure.Health;
using Streams.Infrastructure.Hosting;
using Streams.Infrastructure.Telemetry;
using Streams.Ingest;
using Streams.Ingest.Pseudonymization;
using Streams.Ingest.Worker;
using Streams.Profiles;
using Streams.Profiles.Identity;
using Streams.Quality;
using Streams.Quality.Figures;
using Streams.Quality.Stewardship;
using Streams.Segmentation;
using Streams.Simulator;
using Streams.Stewards;

namespace Streams.Host;

/// <summary>Builds and runs the host; turns configuration mistakes into exit code 2 with a one-line reason.</summary>
public static class StreamsHost
{
    public const int ExitOk = 0;
    public const int ExitFailure = 1;
    public const int ExitConfiguration = 2;

    /// <summary>The console logs' time of day in <c>appsettings.json</c>.</summary>
    private const string TerminalTimestampFormat = "HH:mm:ss ";

    /// <summary>
    /// The host's own configuration sections and the options classes bound to each: any other key in them is an error.
    /// Options classes registered with a <c>Section</c> constant are added to these (<see cref="ConfigurationKeys.WithRegistered"/>);
    /// a class without one, bound to a section, must be listed here.
    /// </summary>
    private static readonly IReadOnlyDictionary<string, Type[]> Sections = new Dictionary<string, Type[]>(StringComparer.OrdinalIgnoreCase)
    {
        [StreamsOptions.Section] = [typeof(StreamsOptions)],
        [KafkaOptions.Section] = [typeof(KafkaOptions)],
        [TopicsOptions.Section] = [typeof(TopicsOptions)],
        [HealthOptions.Section] = [typeof(HealthOptions)],
        [TelemetryOptions.Section] = [typeof(TelemetryOptions)],
        [IngestOptions.SectionName] = [typeof(IngestOptions), typeof(IngestWorkerOptions)],
        [PseudonymizationOptions.SectionName] = [typeof(PseudonymizationOptions)],
        [ProfilesOptions.Section] = [typeof(ProfilesOptions)],
        [IdentityOptions.SectionName] = [typeof(IdentityOptions), typeof(Streams.Ingest.Validation.IdentityBlockingOptions)],
        [SegmentationOptions.Section] = [typeof(SegmentationOptions)],
        [SimulatorRunOptions.Section] = [typeof(SimulatorRunOptions), typeof(SimulatorOptions)],
        [DashboardOptions.Section] = [typeof(DashboardOptions)],
        [ActivationOptions.Section] = [typeof(ActivationOptions)],
    };

    public static async Task<int> RunAsync(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        try
        {
            if (args is [TransparencyCommand.Name, ..])
            {
                return await TransparencyCommand.RunAsync(args).ConfigureAwait(false);
            }

            if (args is [ActivateCommand.Name, ..])
            {
                return await ActivateCommand.RunAsync(args).ConfigureAwait(false);
            }

            if (args is [QualityCommand.Name, ..])
            {
                return await QualityCommand.RunAsync(args, Console.Out).ConfigureAwait(false);
            }

            if (args is [QuarantineCommand.Name, ..])
            {
                return await QuarantineCommand.RunAsync(args, Console.Out, Console.Error).ConfigureAwait(false);
            }

            if (args is [StewardsCommand.Name, ..])
            {
                return await StewardsCommand.RunAsync(args, Console.In, Console.Out, interactive: !Console.IsInputRedirected).ConfigureAwait(false);
            }

            if (args is [UnmergeCommand.Unmerge or UnmergeCommand.Detach, ..])
            {
                return await UnmergeCommand.RunAsync(args).ConfigureAwait(false);
            }

            if (args is [SimulateCommand.Name, ..])
            {
                return await SimulateCommand.RunAsync(args).ConfigureAwait(false);
            }

            using var host = Build(args);
            await host.RunAsync().ConfigureAwait(false);
            return ExitOk;
        }
        catch (Exception e) when (ConfigurationProblem(e) is { } reason)
        {
            await Console.Error.WriteLineAsync($"streams: configuration error: {reason}").ConfigureAwait(false);
            return ExitConfiguration;
        }
        catch (OperationCanceledException)
        {
            // Ctrl-C while starting: nothing was left half-done (the environment cleans up after itself).
            return ExitOk;
        }
        catch (Exception e)
        {
            // Never a crash dump for an operator: one line, and a distinct exit code.
            await Console.Error.WriteLineAsync($"streams: stopped by an error: {e.GetType().Name}: {e.Message}").ConfigureAwait(false);
            return ExitFailure;
        }
    }

    public static IHost Build(string[] args) => CreateBuilder(args).Build();

    /// <summary>The host's builder with every capability added; tests add to it before building.</summary>
    public static HostApplicationBuilder CreateBuilder(string[] args)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            Args = WorkerSelection.ExpandOnly(args),
            // appsettings.json sits next to the executable; the state dir stays relative to where the host is run.
            ContentRootPath = AppContext.BaseDirectory,
        });
        // The formatters share Logging:Console:FormatterOptions, where appsettings.json sets the terminal's short time;
        // JSON logs go to a log shipper, which needs the date and the zone.
        builder.Services.PostConfigure<JsonConsoleFormatterOptions>(json =>
        {
            if (json.TimestampFormat == TerminalTimestampFormat)
            {
                json.TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";
                json.UseUtcTimestamp = true;
            }
        });
        builder.AddStreamsHealth();
        // After health, so it stops after the workers and its last export has their last figures.
        builder.AddStreamsTelemetry();
        builder.AddStreamsEnvironment();
        var streams = builder.Configuration.GetSection(StreamsOptions.Section).Get<StreamsOptions>() ?? new StreamsOptions();
        if (streams.Runs(WorkerSelection.Ingest))
        {
            builder.AddIngest();
            Watch<IngestWorkerOptions>(builder, WorkerSelection.Ingest, o => o.GroupId, catalog => catalog.Inputs);
        }

        if (streams.Runs(WorkerSelection.Profiles))
        {
            builder.AddProfiles();
            Watch<ProfilesOptions>(builder, WorkerSelection.Profiles, o => o.GroupId, catalog => [catalog.Names.Canonical]);
        }

        if (streams.Runs(WorkerSelection.Segmentation))
        {
            builder.AddSegmentation();
            Watch<SegmentationOptions>(builder, WorkerSelection.Segmentation, o => o.GroupId, catalog => [catalog.Names.Profiles]);
        }

        if (streams.Runs(WorkerSelection.Activation))
        {
            builder.AddActivation();
            Watch<ActivationOptions>(builder, WorkerSelection.Activation, o => o.GroupId, catalog => [catalog.Names.ActivationRequests]);
        }

        if (streams.Runs(WorkerSelection.Quality))
        {
            builder.AddQuality();
            // The stewards' quarantine index and replays run with the figures: both are the stewards' side of quarantine.
            builder.AddStewardship();
            Watch<QualityOptions>(builder, WorkerSelection.Quality, o => o.ApplicationId, QualityTopology.SourceTopics);
        }

        builder.AddSimulator();
        builder.AddDashboard();
        builder.AddStewards();
        ConfigurationKeys.ThrowIfUnknown(builder.Configuration, ConfigurationKeys.WithRegistered(Sections, builder.Services));
        return builder;
    }

    /// <summary>Registers a worker's consumer group and input topics for the lag meter and the console view.</summary>
    private static void Watch<TOptions>(
        HostApplicationBuilder builder, string worker, Func<TOptions, string> group, Func<TopicCatalog, IReadOnlyList<string>> topics)
        where TOptions : class =>
        builder.Services.AddSingleton(sp => new ConsumerGroupWatch(
            worker, group(sp.GetRequiredService<IOptions<TOptions>>().Value), topics(sp.GetRequiredService<TopicCatalog>())));

    /// <summary>The one-line reason when <paramref name="e"/> means the configuration cannot work, else null.</summary>
    internal static string? ConfigurationProblem(Exception e) => e switch
    {
        StreamsConfigurationException c => c.Message,
        OptionsValidationException v => string.Join("; ", v.Failures),
        // The configuration binder's own wording names the key and the type; that is the reason a person needs.
        InvalidOperationException { InnerException: FormatException or OverflowException or ArgumentException } b => b.Message,
        AggregateException { InnerExceptions.Count: 1 } a => ConfigurationProblem(a.InnerExceptions[0]),
        _ => null,
    };
}
