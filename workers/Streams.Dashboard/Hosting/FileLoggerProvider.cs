using System.Globalization;
using Microsoft.Extensions.Logging;
using Streams.Infrastructure.Hosting;

namespace Streams.Dashboard.Hosting;

/// <summary>
/// Log lines to one file, while the live view owns the console. Lines are appended and flushed as they come, so
/// <c>tail -f</c> follows them; the file is opened on the first line.
/// </summary>
public sealed class FileLoggerProvider(string path, TimeProvider time) : ILoggerProvider
{
    private readonly Lock gate = new();
    private StreamWriter? writer;
    private bool disposed;

    public string Path { get; } = path;

    public ILogger CreateLogger(string categoryName) => new FileLogger(this, categoryName);

    private void Write(LogLevel level, string category, string message, Exception? exception)
    {
        var line = string.Create(CultureInfo.InvariantCulture,
            $"{time.GetUtcNow().UtcDateTime:yyyy-MM-ddTHH:mm:ss.fffZ} {Level(level)} {category}: {message}");
        lock (gate)
        {
            if (disposed)
            {
                return;
            }

            if (writer is null)
            {
                // The log is in the state dir, which the environment checks at start; a state dir made here must pass that check.
                OwnerOnly.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
                var options = new FileStreamOptions { Mode = FileMode.Append, Access = FileAccess.Write, Share = FileShare.Read };
                if (!OperatingSystem.IsWindows())
                {
                    options.UnixCreateMode = OwnerOnly.FilePermissions;
                }

                writer = new StreamWriter(new FileStream(Path, options)) { AutoFlush = true };
            }

            writer.WriteLine(line);
            if (exception is not null)
            {
                writer.WriteLine(exception.ToString());
            }
        }
    }

    private static string Level(LogLevel level) => level switch
    {
        LogLevel.Trace => "trce",
        LogLevel.Debug => "dbug",
        LogLevel.Information => "info",
        LogLevel.Warning => "warn",
        LogLevel.Error => "fail",
        _ => "crit",
    };

    public void Dispose()
    {
        lock (gate)
        {
            disposed = true;
            writer?.Dispose();
            writer = null;
        }
    }

    private sealed class FileLogger(FileLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            ArgumentNullException.ThrowIfNull(formatter);
            if (IsEnabled(logLevel))
            {
                provider.Write(logLevel, category, formatter(state, exception), exception);
            }
        }
    }
}
