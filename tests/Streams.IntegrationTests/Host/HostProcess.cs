using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace Streams.IntegrationTests.Host;

/// <summary>The real host executable run as a child process, as an operator would run it.</summary>
internal sealed partial class HostProcess : IAsyncDisposable
{
    private readonly Process process;
    private readonly StringBuilder output = new();
    private readonly StringBuilder errors = new();

    private HostProcess(Process process, string stateDirectory)
    {
        this.process = process;
        StateDirectory = stateDirectory;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (output) { output.AppendLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (errors) { errors.AppendLine(e.Data); } } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string StateDirectory { get; }

    public string Output { get { lock (output) { return output.ToString(); } } }

    public string Errors { get { lock (errors) { return errors.ToString(); } } }

    public bool HasExited => process.HasExited;

    public int ExitCode => process.ExitCode;

    /// <summary>Starts <c>Streams.Host</c> with its own state directory (and working directory) and extra arguments.</summary>
    public static HostProcess Start(IReadOnlyDictionary<string, string>? environment = null, params string[] arguments) =>
        StartIn(NewStateDirectory(), environment, arguments);

    /// <summary>A new state directory made as the host makes one (mode 0700: the host refuses one open to others).</summary>
    public static string NewStateDirectory() => Directory.CreateTempSubdirectory("streams-host-").FullName;

    /// <summary>Starts <c>Streams.Host</c> on <paramref name="stateDirectory"/>, which it creates when missing.</summary>
    public static HostProcess StartIn(string stateDirectory, IReadOnlyDictionary<string, string>? environment = null, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = Directory.Exists(stateDirectory) ? stateDirectory : Path.GetDirectoryName(stateDirectory),
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Streams.Host.dll"));
        start.ArgumentList.Add($"--Streams:StateDir={stateDirectory}");
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        return new HostProcess(Process.Start(start)!, stateDirectory);
    }

    /// <summary>Waits until the host wrote <paramref name="file"/> in its state directory, and returns its content.</summary>
    public async Task<string> WaitForStateFileAsync(string file, TimeSpan timeout)
    {
        var path = Path.Combine(StateDirectory, file);
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (File.Exists(path) && (await File.ReadAllTextAsync(path)).Trim() is { Length: > 0 } content)
            {
                return content;
            }

            if (process.HasExited)
            {
                throw new InvalidOperationException($"The host exited with {process.ExitCode}: {Errors}{Output}");
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"No {file} after {timeout}: {Errors}{Output}");
    }

    /// <summary>
    /// Waits until the host printed <paramref name="text"/>: a line printed right after a state file is written may still
    /// be on its way through the pipe when the file appears.
    /// </summary>
    public async Task WaitForOutputAsync(string text, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (!Output.Contains(text, StringComparison.Ordinal))
        {
            if (clock.Elapsed > timeout || process.HasExited)
            {
                throw new TimeoutException($"The host did not print \"{text}\" within {timeout}: {Errors}{Output}");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>
    /// Sends SIGINT, as Ctrl-C in a terminal does. When this process ignores SIGINT (the test run was started as a
    /// background job of a non-interactive shell), the host inherited that and never sees it, as any Unix program would
    /// not: then SIGTERM, which takes the host down the same graceful path (seen: every Ctrl-C test timing out that way).
    /// </summary>
    public void Interrupt() => _ = Kill(process.Id, SigIntIgnored.Value ? 15 : 2);

    /// <summary>Whether SIGINT is ignored here (bit 2 of <c>SigIgn</c> in /proc/self/status), and so in every child.</summary>
    private static readonly Lazy<bool> SigIntIgnored = new(() =>
    {
        var line = File.Exists("/proc/self/status")
            ? File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("SigIgn:", StringComparison.Ordinal))
            : null;
        return line is not null
            && ulong.TryParse(line["SigIgn:".Length..].Trim(), System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture, out var mask)
            && (mask & 0x2) != 0;
    });

    /// <summary>Sends SIGTERM, as a container runtime or systemd does to stop a service.</summary>
    public void Terminate() => _ = Kill(process.Id, 15);

    /// <summary>SIGKILL: no chance to clean up.</summary>
    public void KillHard() => process.Kill(entireProcessTree: false);

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await process.WaitForExitAsync(cts.Token);
        return process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!process.HasExited)
        {
            Interrupt();
            try
            {
                await WaitForExitAsync(TimeSpan.FromSeconds(30));
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
            }
        }

        process.Dispose();
        try
        {
            Directory.Delete(StateDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
