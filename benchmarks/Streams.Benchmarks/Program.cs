using BenchmarkDotNet.Running;
using Streams.Benchmarks.Load;

// Load runs of whole workers are commands of their own; everything else is BenchmarkDotNet.
try
{
    return args switch
    {
        ["profiles-load", ..] => await ProfilesLoad.RunAsync(args),
        ["pipeline-load", ..] => await PipelineLoad.RunAsync(args),
        ["activation-load", ..] => await ActivationLoad.RunAsync(args),
        ["segment-quality", ..] => Streams.Benchmarks.Quality.SegmentQuality.Run(args),
        _ => Run(args),
    };
}
catch (Exception e) when (e is LoadOptionException or Streams.Infrastructure.Hosting.StreamsConfigurationException)
{
    await Console.Error.WriteLineAsync($"{args[0]}: {e.Message}");
    return 2;
}
catch (Exception e) when (args is ["profiles-load" or "pipeline-load" or "activation-load", ..])
{
    // A load run that cannot finish (a stage stalled, records not delivered) says why in one line, not a stack trace.
    await Console.Error.WriteLineAsync($"{args[0]}: stopped: {e.GetType().Name}: {e.Message}");
    return 1;
}

static int Run(string[] args)
{
    BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
    return 0;
}
