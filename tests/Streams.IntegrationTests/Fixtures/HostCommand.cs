using System.Diagnostics;

namespace Streams.IntegrationTests.Fixtures;

/// <summary>Runs one command of the host executable (<c>whois</c>, <c>simulate</c>) as a child process to its end.</summary>
public static class HostCommand
{
    public static Task<(int ExitCode, string Output, string Errors)> RunAsync(params string[] arguments) =>
        RunWithInputAsync(string.Empty, arguments);

    /// <summary>Runs the command with <paramref name="standardInput"/> piped in (then closed), as <c>cmd &lt; file</c> does.</summary>
    public static async Task<(int ExitCode, string Output, string Errors)> RunWithInputAsync(string standardInput, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Streams.Host.dll"));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        await process.StandardInput.WriteAsync(standardInput);
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"'{string.Join(' ', arguments.Take(1))}' did not finish in 2 minutes");
        }

        return (process.ExitCode, await output, await errors);
    }
}
