using Confluent.Kafka;
using Npgsql;
using Streams.Infrastructure.Postgres;

namespace Streams.Infrastructure.Hosting;

/// <summary>
/// What a failure means for a worker, decided once and by the libraries' own signals (SQLSTATE classes,
/// <see cref="NpgsqlException.IsTransient"/>, <see cref="Error.IsFatal"/>), never by message text.
/// </summary>
public static class Failures
{
    /// <summary>
    /// A failure a new session can get past: a connection lost or refused (SQLSTATE class 08), a transaction rolled
    /// back for a serialization failure or deadlock (40), the server short of resources (53) or shutting down
    /// (57P01–57P03), a lock not granted in time (55P03), another error Npgsql itself calls transient (timeouts, I/O),
    /// a broker error that is not fatal, a checkpoint fenced by a new owner of its partitions. Data exceptions (22),
    /// integrity violations (23), program limits (54) and syntax or undefined objects (42) are permanent: trying again
    /// gives the same answer.
    /// </summary>
    public static bool IsTransient(Exception e)
    {
        ArgumentNullException.ThrowIfNull(e);
        return e switch
        {
            PartitionFencedException => true,
            PostgresException p => IsTransient(p),
            NpgsqlException n => n.IsTransient,
            KafkaException k => !k.Error.IsFatal,
            TimeoutException or IOException or System.Net.Sockets.SocketException => true,
            // Npgsql refuses further use of a connection it has broken with InvalidOperationException; the next session
            // opens new ones.
            InvalidOperationException { InnerException: { } inner } => IsTransient(inner),
            InvalidOperationException i => i.TargetSite?.DeclaringType?.Assembly == typeof(NpgsqlConnection).Assembly,
            AggregateException { InnerExceptions: [var only] } => IsTransient(only),
            _ => false,
        };
    }

    /// <summary>
    /// A failure caused by the data a statement was given (SQLSTATE class 22, data exception, or 23, integrity
    /// violation): the same records fail the same way every time, so the batch is split to find them
    /// rather than retried whole.
    /// </summary>
    public static bool IsPermanentData(Exception e)
    {
        ArgumentNullException.ThrowIfNull(e);
        return e switch
        {
            PostgresException p => p.SqlState.StartsWith("22", StringComparison.Ordinal) || p.SqlState.StartsWith("23", StringComparison.Ordinal),
            AggregateException { InnerExceptions: [var only] } => IsPermanentData(only),
            _ => false,
        };
    }

    /// <summary>
    /// The quarantine reason of a record whose effects PostgreSQL refused alone (<see cref="IsPermanentData"/>, found by
    /// <see cref="PoisonBisection"/>): <c>store_rejected</c>, naming the SQLSTATE and never the error's message (it can
    /// quote the value refused).
    /// </summary>
    public static Contracts.Quarantine.QuarantineReason StoreRejected(Exception failure) =>
        new(Contracts.Quarantine.ReasonCodes.StoreRejected, null,
            $"the store refused what was made of this record (SQLSTATE {(failure as PostgresException)?.SqlState ?? "unknown"})");

    private static bool IsTransient(PostgresException p) => p.SqlState switch
    {
        PartitionEpochs.FencedSqlState => true,
        ['0', '8', ..] or ['4', '0', ..] or ['5', '3', ..] => true,
        "57P01" or "57P02" or "57P03" or "55P03" => true,
        ['2', '2', ..] or ['2', '3', ..] or ['5', '4', ..] or ['4', '2', ..] => false,
        _ => p.IsTransient,
    };
}
