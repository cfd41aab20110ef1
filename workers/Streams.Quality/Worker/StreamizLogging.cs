using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Streams.Quality.Worker;

/// <summary>
/// The logger factory handed to Streamiz. Streamiz keeps the factory of the last stream configured in a process-wide
/// static and creates loggers from it in constructors long after (measured: a second host in one process failed to start
/// with <see cref="ObjectDisposedException"/> from the first host's disposed factory). This one lives as long as the
/// process and forwards to the factory of the host whose worker is running, or to nothing between hosts.
/// </summary>
internal sealed class StreamizLogging : ILoggerFactory
{
    private ILoggerFactory? current;

    public static StreamizLogging Instance { get; } = new();

    public void Attach(ILoggerFactory factory) => Volatile.Write(ref current, factory);

    public void Detach(ILoggerFactory factory) => Interlocked.CompareExchange(ref current, null, factory);

    public ILogger CreateLogger(string categoryName) => new Forwarding(this, categoryName);

    /// <summary>Providers belong to the host's own factory, which this one only forwards to.</summary>
    public void AddProvider(ILoggerProvider provider) =>
        throw new NotSupportedException("Add logging providers to the host's logger factory; Streamiz's logging forwards to it.");

    /// <summary>Nothing to release: the forwarded-to factory belongs to its host.</summary>
    public void Dispose()
    {
    }

    private sealed class Forwarding(StreamizLogging owner, string category) : ILogger
    {
        private (ILoggerFactory Factory, ILogger Logger)? cached;

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => Current.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => Current.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Current.Log(logLevel, eventId, state, exception, formatter);

        private ILogger Current
        {
            get
            {
                if (Volatile.Read(ref owner.current) is not { } factory)
                {
                    return NullLogger.Instance;
                }

                if (cached is { } known && ReferenceEquals(known.Factory, factory))
                {
                    return known.Logger;
                }

                try
                {
                    var logger = factory.CreateLogger(category);
                    cached = (factory, logger);
                    return logger;
                }
                catch (ObjectDisposedException)
                {
                    // The host is stopping: its last lines have nowhere to go.
                    return NullLogger.Instance;
                }
            }
        }
    }
}
