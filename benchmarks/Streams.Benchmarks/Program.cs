using BenchmarkDotNet.Running;
using Streams.Benchmarks.Load;

// Load runs of whole workers are commands of their own; everything else is BenchmarkDotNet.
return args is ["profiles-load", ..] ? await ProfilesLoad.RunAsync(args) : Run(args);

static int Run(string[] args)
{
    BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
    return 0;
}
