using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Npgsql;
using Streams.Infrastructure.Hosting;

namespace Streams.Infrastructure.Postgres;

/// <summary>
/// A throwaway PostgreSQL cluster started from the machine's server binaries (initdb, pg_ctl), in a directory it owns
/// (mode 0700), on a free loopback port. Stopped and removed on dispose. PostgreSQL refuses to run as root, so when this
/// process is root the server runs as the <c>postgres</c> user (every parent of the directory must be traversable by it).
/// </summary>
/// <remarks>
/// Its superuser has a password generated here (SCRAM-SHA-256 for every connection, no trust), and it has no Unix
/// socket, so the only way in is TCP on 127.0.0.1 with that password. Paths are passed as separate arguments, never
/// through a shell: pg_ctl runs the server through <c>/bin/sh</c> with its -D and -l values in double quotes, so it is
/// run in the cluster's folder and given the relative names <c>data</c> and <c>server.log</c>, and the server settings
/// go into postgresql.conf rather than pg_ctl's -o string.
/// </remarks>
public sealed class LocalPostgresCluster : IAsyncDisposable
{
    private const string ServiceUser = "postgres";
    private const string DataFolder = "data";
    private const string LogFileName = "server.log";
    private const string FolderPrefix = "streams-pg-";
    private readonly string binDirectory;
    private readonly bool runAsServiceUser;
    private bool stopped;

    private LocalPostgresCluster(string directory, string binDirectory, int port, bool runAsServiceUser, string password)
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
            Password = password,
            Database = "postgres",
            Pooling = true,
        }.ConnectionString;
    }

    /// <summary>The folder holding the cluster's data and log.</summary>
    public string Directory { get; }

    /// <summary>TCP port on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>Connection string for the superuser to the <c>postgres</c> database, password included: never print it.</summary>
    public string ConnectionString { get; }

    /// <summary>The server's log file.</summary>
    public string LogFile => Path.Combine(Directory, LogFileName);

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

    /// <summary>
    /// Creates and starts a cluster in <paramref name="directory"/> (emptied first, a leftover server in it stopped), or
    /// in a fresh private temporary folder when null.
    /// </summary>
    /// <exception cref="PostgresBinariesNotFoundException">No server binaries on this machine.</exception>
    public static async Task<LocalPostgresCluster> StartAsync(string? directory = null, CancellationToken cancellationToken = default)
    {
        var bin = FindBinaries() ?? throw new PostgresBinariesNotFoundException();
        var asServiceUser = Environment.IsPrivilegedProcess;
        if (directory is null)
        {
            directory = NewTemporaryFolder();
        }
        else
        {
            directory = Path.GetFullPath(directory);
            await StopLeftoverAsync(bin, directory, asServiceUser, cancellationToken).ConfigureAwait(false);
            EmptyOrCreate(directory);
        }

        var password = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
        var cluster = new LocalPostgresCluster(directory, bin, FreePort(), asServiceUser, password);
        try
        {
            // initdb reads the password from a file (never an argument, which ps shows), created 0600 from the start.
            const string passwordFileName = "superuser-password";
            var passwordFile = Path.Combine(directory, passwordFileName);
            OwnerOnly.WriteFile(passwordFile, password);
            if (asServiceUser)
            {
                await RunAsync("chown", ["-R", $"{ServiceUser}:{ServiceUser}", directory], directory, cancellationToken).ConfigureAwait(false);
            }

            await cluster.RunServerToolAsync(
                "initdb",
                ["-D", DataFolder, "-U", ServiceUser, "--auth=scram-sha-256", "--pwfile=" + passwordFileName, "-E", "UTF8", "--no-sync"],
                cancellationToken).ConfigureAwait(false);
            File.Delete(passwordFile);
            await File.AppendAllTextAsync(Path.Combine(directory, DataFolder, "postgresql.conf"), $"""

                # Streams: a throwaway cluster. TCP on loopback only, no Unix socket. Durability across an OS crash is not
                # wanted, speed is; commits stay synchronous with respect to the server, which the workers' exactly-once needs.
                port = {cluster.Port}
                listen_addresses = '127.0.0.1'
                unix_socket_directories = ''
                fsync = off
                full_page_writes = off
                max_connections = 200

                {StatementStatistics.ServerSettings(bin, MajorVersion(Path.Combine(directory, DataFolder)))}
                """, cancellationToken).ConfigureAwait(false);
            await cluster.StartServerAsync(cancellationToken).ConfigureAwait(false);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    // initdb writes the major version alone on the first line ("15"); 0 when it cannot be read.
    private static int MajorVersion(string dataDirectory) =>
        int.TryParse(File.ReadLines(Path.Combine(dataDirectory, "PG_VERSION")).FirstOrDefault(), NumberStyles.None, CultureInfo.InvariantCulture, out var version)
            ? version
            : 0;

    /// <summary>A new folder in the temporary area for a cluster: mkdtemp, so a name nobody could have prepared, made 0700.</summary>
    public static string NewTemporaryFolder() => System.IO.Directory.CreateTempSubdirectory(FolderPrefix).FullName;

    /// <summary>
    /// Stops and removes a cluster a killed process left in <paramref name="directory"/>, a folder made by
    /// <see cref="NewTemporaryFolder"/>; any other path is left alone.
    /// </summary>
    public static async Task RemoveLeftoverAsync(string directory, CancellationToken cancellationToken = default)
    {
        var folder = new DirectoryInfo(Path.GetFullPath(directory));
        var temporary = Path.GetFullPath(Path.GetTempPath());
        if (!folder.Exists || folder.LinkTarget is not null || !folder.Name.StartsWith(FolderPrefix, StringComparison.Ordinal)
            || !string.Equals(Path.TrimEndingDirectorySeparator(folder.Parent?.FullName ?? ""), Path.TrimEndingDirectorySeparator(temporary), StringComparison.Ordinal))
        {
            return;
        }

        if (FindBinaries() is { } bin)
        {
            await StopLeftoverAsync(bin, folder.FullName, Environment.IsPrivilegedProcess, cancellationToken).ConfigureAwait(false);
        }

        folder.Delete(recursive: true);
    }

    // Emptied rather than deleted and made again: the folder's name never becomes free for someone else to take.
    private static void EmptyOrCreate(string directory)
    {
        var folder = new DirectoryInfo(directory);
        if (!folder.Exists)
        {
            OwnerOnly.CreateDirectory(directory);
            return;
        }

        foreach (var entry in folder.EnumerateFileSystemInfos())
        {
            if (entry is DirectoryInfo sub && sub.LinkTarget is null)
            {
                sub.Delete(recursive: true);
            }
            else
            {
                entry.Delete();
            }
        }

        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(directory, OwnerOnly.DirectoryPermissions);
        }
    }

    private string DataDirectory => Path.Combine(Directory, DataFolder);

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
            await RunServerToolAsync("pg_ctl", ["-D", DataFolder, "-m", "fast", "-w", "-t", "60", "stop"], cancellationToken)
                .ConfigureAwait(false);
        }
    }

    /// <summary>Starts a server stopped by <see cref="StopAsync"/> again (tests of outages use this).</summary>
    public async Task RestartAsync(CancellationToken cancellationToken = default)
    {
        await StartServerAsync(cancellationToken).ConfigureAwait(false);
        stopped = false;
    }

    // Relative names only: pg_ctl puts -D and -l into the /bin/sh command line that starts the server.
    private Task StartServerAsync(CancellationToken cancellationToken) =>
        RunServerToolAsync("pg_ctl", ["-D", DataFolder, "-l", LogFileName, "-w", "-t", "60", "start"], cancellationToken);

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
            // A server process still exiting can create or hold a file for a moment: a few tries before giving up.
            for (var attempt = 1; System.IO.Directory.Exists(Directory); attempt++)
            {
                try
                {
                    System.IO.Directory.Delete(Directory, recursive: true);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    if (attempt == 5)
                    {
                        // Not worth failing the run for; the folder is in the temp area or the state dir.
                        break;
                    }

                    await Task.Delay(TimeSpan.FromMilliseconds(100 * attempt)).ConfigureAwait(false);
                }
            }
        }
    }

    private Task RunServerToolAsync(string tool, IReadOnlyList<string> arguments, CancellationToken cancellationToken) =>
        RunServerTool(binDirectory, tool, arguments, Directory, runAsServiceUser, cancellationToken);

    // runuser -u execs the command with these arguments as they are (no shell, unlike runuser -c). It keeps the
    // working directory, which is entered while still root: the server user needs no right on its parents for that.
    private static Task RunServerTool(
        string bin, string tool, IReadOnlyList<string> arguments, string directory, bool asServiceUser, CancellationToken ct)
    {
        var executable = Path.Combine(bin, tool);
        return asServiceUser
            ? RunAsync("runuser", ["-u", ServiceUser, "--", executable, .. arguments], directory, ct)
            : RunAsync(executable, arguments, directory, ct);
    }

    // A cluster left by a process that was killed keeps running; stop it before the folder is reused.
    private static async Task StopLeftoverAsync(string bin, string directory, bool asServiceUser, CancellationToken ct)
    {
        if (File.Exists(Path.Combine(directory, DataFolder, "postmaster.pid")))
        {
            try
            {
                await RunServerTool(bin, "pg_ctl", ["-D", DataFolder, "-m", "immediate", "-w", "stop"], directory, asServiceUser, ct)
                    .ConfigureAwait(false);
            }
            catch (InvalidOperationException)
            {
                // Not running after all (stale pid file), or a single-user initdb that dies with its parent.
            }
        }
    }

    private static async Task RunAsync(string fileName, IReadOnlyList<string> arguments, string workingDirectory, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {fileName}.");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        try
        {
            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Cancelled (Ctrl-C while initdb runs): the tool must be gone before anyone removes its folder, or it goes on
            // writing files into it while the folder is deleted and the folder stays behind (seen under load).
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // Exited meanwhile.
            }

            await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            throw;
        }

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
