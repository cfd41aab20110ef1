using BenchmarkDotNet.Running;
using Streams.Benchmarks.Load;

// Load runs of whole workers are commands of their own; everything else is BenchmarkDotNet.
try
{
    return args switch
    {
        ["profiles-load", ..] => await ProfilesLoad.RunAsync(args),
        ["pipeline-load", ..] => await PipelineLoad.RunAsync(args),
        _ => Run(args),
    };
}
catch (LoadOptionException e)
{
    await Console.Error.WriteLineAsync($"{args[0]}: {e.Message}");
    return 2;
}

static int Run(string[] args)
{
    BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
    return 0;
}
