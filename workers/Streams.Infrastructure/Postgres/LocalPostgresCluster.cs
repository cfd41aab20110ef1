using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Streams.Infrastructure.Postgres;

/// <summary>
/// A throwaway PostgreSQL cluster started from the machine's server binaries (initdb, pg_ctl), in a directory it owns,
/// on a free loopback port. Stopped and removed on dispose. PostgreSQL refuses to run as root, so when this process is
/// root the server runs as the <c>postgres</c> user (every parent of the directory must be traversable by it).
/// </summary>
public sealed class LocalPostgresCluster : IAsyncDisposable
{
    private const string ServiceUser = "postgres";
    private readonly string binDirectory;
    private readonly bool runAsServiceUser;
    private bool stopped;

    private LocalPostgresCluster(string directory, string binDirectory, int port, bool runAsServiceUser)
    {
        Directory = directory;
        this.binDirectory = binDirectory;
        Port = port;
        this.runAsServiceUser = runAsServiceUser;
        ConnectionString = new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = port,
            Username = ServiceUser,
            Database = "postgres",
            // The cluster trusts local connections; it listens on loopback only and lives as long as this object.
            Pooling = true,
        }.ConnectionString;
    }

    /// <summary>The folder holding the cluster's data, socket and log.</summary>
    public string Directory { get; }

    /// <summary>TCP port on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>Connection string for the superuser to the <c>postgres</c> database.</summary>
    public string ConnectionString { get; }

    /// <summary>The server's log file.</summary>
    public string LogFile => Path.Combine(Directory, "server.log");

    /// <summary>Finds the server binaries: on PATH, else the newest under /usr/lib/postgresql/*/bin.</summary>
    public static string? FindBinaries()
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        var candidates = new List<string>();
        if (System.IO.Directory.Exists("/usr/lib/postgresql"))
        {
            candidates.AddRange(System.IO.Directory.GetDirectories("/usr/lib/postgresql")
                .Select(d => (Dir: Path.Combine(d, "bin"), Version: int.TryParse(Path.GetFileName(d), out var v) ? v : 0))
                .OrderByDescending(d => d.Version)
                .Select(d => d.Dir));
        }

        // PATH first: a deliberately installed server wins. Debian's /usr/bin only has wrappers without initdb.
        candidates.InsertRange(0, path.Split(':', StringSplitOptions.RemoveEmptyEntries));
        return candidates.FirstOrDefault(d => File.Exists(Path.Combine(d, "initdb")) && File.Exists(Path.Combine(d, "pg_ctl")));
    }

    /// <summary>Creates and starts a cluster under <paramref name="directory"/> (a fresh temp folder when null).</summary>
    /// <exception cref="PostgresBinariesNotFoundException">No server binaries on this machine.</exception>
    public static async Task<LocalPostgresCluster> StartAsync(string? directory = null, CancellationToken cancellationToken = default)
    {
        var bin = FindBinaries() ?? throw new PostgresBinariesNotFoundException();
        var asServiceUser = Environment.IsPrivilegedProcess;
        directory ??= Path.Combine(Path.GetTempPath(), "streams-pg-" + Guid.NewGuid().ToString("N")[..12]);
        directory = Path.GetFullPath(directory);

        await StopLeftoverAsync(bin, directory, asServiceUser, cancellationToken).ConfigureAwait(false);
        if (System.IO.Directory.Exists(directory))
        {
            System.IO.Directory.Delete(directory, recursive: true);
        }

        System.IO.Directory.CreateDirectory(directory);
        var cluster = new LocalPostgresCluster(directory, bin, FreePort(), asServiceUser);
        try
        {
            if (asServiceUser)
            {
                await RunAsync("chown", ["-R", $"{ServiceUser}:{ServiceUser}", directory], cancellationToken).ConfigureAwait(false);
            }

            await cluster.RunServerToolAsync(
                "initdb", ["-D", cluster.DataDirectory, "-A", "trust", "-U", ServiceUser, "-E", "UTF8", "--no-sync"], cancellationToken)
                .ConfigureAwait(false);
            await cluster.RunServerToolAsync(
                "pg_ctl",
                [
                    "-D", cluster.DataDirectory, "-l", cluster.LogFile, "-w", "-t", "60",
                    // Throwaway data: durability across an OS crash is not wanted, speed is. Commits stay synchronous
                    // with respect to the server, which is what the workers' exactly-once relies on.
                    "-o", $"-p {cluster.Port} -k {directory} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off " +
                          "-c max_connections=200",
                    "start",
                ],
                cancellationToken).ConfigureAwait(false);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private string DataDirectory => Path.Combine(Directory, "data");

    /// <summary>Stops the server (fast shutdown) and keeps its files.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (stopped)
        {
            return;
        }

        stopped = true;
        NpgsqlConnection.ClearAllPools();
        if (File.Exists(Path.Combine(DataDirectory, "postmaster.pid")))
        {
            await RunServerToolAsync("pg_ctl", ["-D", DataDirectory, "-m", "fast", "-w", "-t", "60", "stop"], cancellationToken)
                .ConfigureAwait(false);
        }
    }

    /// <summary>Starts a server stopped by <see cref="StopAsync"/> again (tests of outages use this).</summary>
    public async Task RestartAsync(CancellationToken cancellationToken = default)
    {
        await RunServerToolAsync(
            "pg_ctl",
            ["-D", DataDirectory, "-l", LogFile, "-w", "-t", "60",
             "-o", $"-p {Port} -k {Directory} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=200",
             "start"],
            cancellationToken).ConfigureAwait(false);
        stopped = false;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync().ConfigureAwait(false);
        }
        catch (InvalidOperationException)
        {
            // Interrupted while initdb or the server was starting (Ctrl-C reaches the whole process group): stop
            // whatever runs in the folder the hard way; cleaning up must not fail the shutdown.
            await StopLeftoverAsync(binDirectory, Directory, runAsServiceUser, CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            try
            {
                System.IO.Directory.Delete(Directory, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A file still held open does not make the run fail; the folder is in the temp area or the state dir.
            }
        }
    }

    private Task RunServerToolAsync(string tool, IReadOnlyList<string> arguments, CancellationToken cancellationToken) =>
        RunServerTool(binDirectory, tool, arguments, runAsServiceUser, cancellationToken);

    private static Task RunServerTool(string bin, string tool, IReadOnlyList<string> arguments, bool asServiceUser, CancellationToken ct)
    {
        var executable = Path.Combine(bin, tool);
        return asServiceUser
            ? RunAsync("runuser", ["-u", ServiceUser, "--", executable, .. arguments], ct)
            : RunAsync(executable, arguments, ct);
    }

    // A cluster left by a process that was killed keeps running; stop it before the folder is reused.
    private static async Task StopLeftoverAsync(string bin, string directory, bool asServiceUser, CancellationToken ct)
    {
        var data = Path.Combine(directory, "data");
        if (File.Exists(Path.Combine(data, "postmaster.pid")))
        {
            try
            {
                await RunServerTool(bin, "pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"], asServiceUser, ct).ConfigureAwait(false);
            }
            catch (InvalidOperationException)
            {
                // Not running after all (stale pid file), or a single-user initdb that dies with its parent.
            }
        }
    }

    private static async Task RunAsync(string fileName, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            // runuser drops to postgres, who may not be able to read the caller's working directory.
            WorkingDirectory = "/",
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {fileName}.");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"{Path.GetFileName(fileName)} {string.Join(' ', arguments)} exited with {process.ExitCode}: {await stderr.ConfigureAwait(false)}{await stdout.ConfigureAwait(false)}");
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>No PostgreSQL server binaries were found on this machine.</summary>
public sealed class PostgresBinariesNotFoundException() : Exception(
    "No PostgreSQL server binaries found (initdb/pg_ctl on PATH or under /usr/lib/postgresql/*/bin). " +
    "Install them (Debian: apt-get install postgresql) or set ConnectionStrings:Profiles to an existing database.");
