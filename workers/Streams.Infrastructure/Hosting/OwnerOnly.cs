using System.Security.Cryptography;
using System.Text;

namespace Streams.Infrastructure.Hosting;

/// <summary>
/// Files and folders only their owner may use: the state dir (0700) and what it holds that is secret, the
/// pseudonymization key and the database password (0600). A secret is never on disk with wider rights, not even for
/// the moment between a create and a chmod, and a reader never sees it half written.
/// </summary>
public static class OwnerOnly
{
    public const UnixFileMode DirectoryPermissions = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    public const UnixFileMode FilePermissions = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private const UnixFileMode GroupOrOthers =
        UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute |
        UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    /// <summary>
    /// Creates the state dir with mode 0700 when it is missing. An existing one open to other users is refused rather
    /// than tightened: the host cannot tell whether someone relies on that folder's rights (a state dir pointed at a
    /// shared folder), and changing them behind a person's back is worse than a one-line fix they run themselves.
    /// </summary>
    /// <exception cref="StreamsConfigurationException">The folder exists and group or others have rights on it.</exception>
    public static string EnsureDirectory(string path)
    {
        var full = Path.GetFullPath(path);
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(full);
            return full;
        }

        Directory.CreateDirectory(full, DirectoryPermissions);
        RequireDirectory(full);
        return full;
    }

    /// <summary>Creates the folder with mode 0700 when it is missing, and checks nothing (for writers that must not throw).</summary>
    public static void CreateDirectory(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
        }
        else
        {
            Directory.CreateDirectory(path, DirectoryPermissions);
        }
    }

    /// <summary>Refuses a state dir that group or others have any right on.</summary>
    /// <exception cref="StreamsConfigurationException">It is open to other users.</exception>
    public static void RequireDirectory(string path) => Require(path, mode =>
        $"the state directory {path} is open to other users (mode {mode}), and it holds the pseudonymization key and " +
        $"the database password; run: chmod 700 {ShellQuoted(path)} (or set Streams:StateDir to a folder of your own)");

    /// <summary>Refuses a secret file that group or others may read or write.</summary>
    /// <exception cref="StreamsConfigurationException">It is open to other users.</exception>
    public static void RequireFile(string path, string what) => Require(path, mode =>
        $"{what} {path} is readable by other users (mode {mode}); run: chmod 600 {ShellQuoted(path)} (and find out who may have read it)");

    private static void Require(string path, Func<string, string> refusal)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var mode = File.GetUnixFileMode(path);
        if ((mode & GroupOrOthers) != 0)
        {
            throw new StreamsConfigurationException(refusal("0" + Convert.ToString((int)mode & 0x1FF, 8)));
        }
    }

    /// <summary>
    /// Writes <paramref name="content"/> to <paramref name="path"/> with mode 0600: into a new file in the same folder,
    /// created 0600, flushed to disk, then renamed over the target, so a reader sees the old file or the whole new one.
    /// </summary>
    /// <returns>False when <paramref name="overwrite"/> is false and the file exists (it is left as it is).</returns>
    public static bool WriteFile(string path, string content, bool overwrite = true)
    {
        ArgumentNullException.ThrowIfNull(content);
        return WriteFile(path, stream => stream.Write(Encoding.UTF8.GetBytes(content)), overwrite);
    }

    /// <inheritdoc cref="WriteFile(string, string, bool)"/>
    public static bool WriteFile(string path, Action<Stream> write, bool overwrite = true)
    {
        ArgumentNullException.ThrowIfNull(write);
        var full = Path.GetFullPath(path);
        var temporary = Path.Combine(Path.GetDirectoryName(full)!,
            $".{Path.GetFileName(full)}.{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}.tmp");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = FilePermissions;
        }

        try
        {
            using (var stream = new FileStream(temporary, options))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }

            if (!overwrite && File.Exists(full))
            {
                return false;
            }

            // Without overwrite, the move fails rather than replace a file another process wrote since the check.
            File.Move(temporary, full, overwrite);
            return true;
        }
        catch (IOException) when (!overwrite && File.Exists(full))
        {
            return false;
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    /// <summary>The path in single quotes, as a POSIX shell reads it back whatever it contains.</summary>
    public static string ShellQuoted(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return "'" + path.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
    }
}
