using Streams.Host;

return await StreamsHost.RunAsync(args);

/// <summary>
/// Internal, as top-level statements make it: the console's ASP.NET Core framework brings a generator that makes a
/// top-level <c>Program</c> public for test factories, and a public one clashes with the benchmarks' own <c>Program</c>.
/// </summary>
internal sealed partial class Program;
