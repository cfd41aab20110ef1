using System.Diagnostics;
using Confluent.Kafka;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Streams.Contracts.Topics;
using Streams.Infrastructure.Hosting;
using Streams.Simulator;
using Streams.Simulator.Publishing;

namespace Streams.Host;

/// <summary>
/// <c>simulate [--Simulator:Customers=N …]</c>: one finite simulator run into the configured broker, or into the
/// running host's broker read from <c>&lt;state dir&gt;/bootstrap</c>; writes the ground truth and prints a summary.
/// </summary>
internal static class SimulateCommand
{
    public const string Name = "simulate";

    public static async Task<int> RunAsync(string[] args)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new Microsoft.Extensions.Hosting.HostApplicationBuilderSettings
        {
            Args = args[1..],
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Logging.ClearProviders();
        // Only what a person must act on reaches the terminal; the summary is printed.
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true).AddFilter((category, level) =>
            level >= LogLevel.Warning && category?.StartsWith("Streams", StringComparison.Ordinal) == true);
        builder.Services.AddOptions<KafkaOptions>().BindConfiguration(KafkaOptions.Section).ValidateDataAnnotations();
        builder.Services.AddOptions<StreamsOptions>().BindConfiguration(StreamsOptions.Section).ValidateDataAnnotations();
        builder.Services.AddOptions<TopicsOptions>().BindConfiguration(TopicsOptions.Section).ValidateDataAnnotations();
        builder.Services.AddSimulatorOptions();
        using var host = builder.Build();

        var run = host.Services.GetRequiredService<IOptions<SimulatorRunOptions>>().Value;
        var generator = host.Services.GetRequiredService<IOptions<SimulatorOptions>>().Value.Clone();
        var catalog = new TopicCatalog(host.Services.GetRequiredService<IOptions<TopicsOptions>>().Value);
        var stateDirectory = Path.GetFullPath(host.Services.GetRequiredService<IOptions<StreamsOptions>>().Value.StateDir);
        var bootstrap = BootstrapServers(host.Services.GetRequiredService<IOptions<KafkaOptions>>().Value, stateDirectory);
        if (bootstrap is null)
        {
            throw new StreamsConfigurationException("No broker: set Kafka:BootstrapServers, or run this next to a running host (it reads " +
                                                    "<state dir>/bootstrap).");
        }

        CheckTopics(bootstrap, catalog);
        if (generator.Run == 0)
        {
            generator.Run = Random.Shared.Next(1, SimulatorOptions.MaxRun + 1);
        }

        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += OnCancel;
        var logger = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Streams.Simulator");
        var clock = Stopwatch.StartNew();
        using var publisher = new SimulatorPublisher(bootstrap, catalog, SimulatorWorker.IngestGroupId(builder.Configuration), run,
            generator.MaxRecordBytes, failOnStall: true, downstream: [], host.Services.GetRequiredService<SimulatorMetrics>(), TimeProvider.System, logger);
        GroundTruth truth;
        try
        {
            truth = new SimulationRunner(generator, TimeProvider.System, logger)
                .Run(r => publisher.Publish(r, cancel.Token), Math.Max(1, run.Waves), cancel.Token)!;
        }
        catch (OperationCanceledException)
        {
            publisher.Flush(TimeSpan.FromSeconds(10));
            await Console.Error.WriteLineAsync($"streams: simulate interrupted after {publisher.Delivered} records; no ground truth written.")
                .ConfigureAwait(false);
            return StreamsHost.ExitFailure;
        }
        catch (SimulatorStalledException e)
        {
            await Console.Error.WriteLineAsync($"streams: simulate stopped: {e.Message}").ConfigureAwait(false);
            return StreamsHost.ExitFailure;
        }
        finally
        {
            Console.CancelKeyPress -= OnCancel;
        }

        while (!publisher.Flush(TimeSpan.FromSeconds(1)) && publisher.Delivered + publisher.Failed < publisher.Sent && !cancel.IsCancellationRequested)
        {
            // librdkafka gives up on a record after its message timeout; until then it is still on its way.
        }

        var path = run.GroundTruthPath(stateDirectory);
        // By default in the state dir: made as the host makes it, or the host would refuse it afterwards.
        OwnerOnly.CreateDirectory(Path.GetDirectoryName(path)!);
        await GroundTruthWriter.WriteAsync(truth, path).ConfigureAwait(false);
        Console.WriteLine(SimulatorSummary.Describe(truth, publisher.Delivered, publisher.Failed, clock.Elapsed, path));
        return publisher.Failed == 0 ? StreamsHost.ExitOk : StreamsHost.ExitFailure;

        void OnCancel(object? sender, ConsoleCancelEventArgs e)
        {
            e.Cancel = true;
            cancel.Cancel();
        }
    }

    /// <summary>The configured broker, else the running host's embedded one from the state dir, else null.</summary>
    private static string? BootstrapServers(KafkaOptions kafka, string stateDirectory)
    {
        if (!kafka.UseEmbedded)
        {
            return kafka.BootstrapServers!.Trim();
        }

        var file = Path.Combine(stateDirectory, "bootstrap");
        return File.Exists(file) && File.ReadAllText(file).Trim() is { Length: > 0 } address ? address : null;
    }

    // A broker that does not answer, or lacks the input topics, is a configuration problem: say so before producing.
    private static void CheckTopics(string bootstrap, TopicCatalog catalog)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrap })
            .SetLogHandler((_, _) => { })
            .Build();
        Confluent.Kafka.Metadata metadata;
        try
        {
            metadata = admin.GetMetadata(TimeSpan.FromSeconds(10));
        }
        catch (KafkaException e)
        {
            throw new StreamsConfigurationException($"Kafka at '{bootstrap}' did not answer: {e.Error.Reason}", e);
        }

        var present = metadata.Topics.Where(t => t.Error.Code == ErrorCode.NoError).Select(t => t.Topic).ToHashSet(StringComparer.Ordinal);
        var missing = catalog.Inputs.Where(t => !present.Contains(t)).ToList();
        if (missing.Count > 0)
        {
            throw new StreamsConfigurationException($"Kafka at '{bootstrap}' has no topic {string.Join(", ", missing.Select(m => $"'{m}'"))} " +
                                                    "(the host creates them when it starts; check Topics:*).");
        }
    }
}
