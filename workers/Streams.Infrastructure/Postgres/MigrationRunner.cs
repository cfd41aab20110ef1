using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Streams.Infrastructure.Postgres;

/// <summary>One plain-SQL migration: an embedded resource named <c>NNNN_description.sql</c>.</summary>
/// <param name="Id">The file name without extension; migrations run in ordinal order of it.</param>
/// <param name="Sql">The statements.</param>
public sealed record Migration(string Id, string Sql)
{
    /// <summary>SHA-256 of the SQL, recorded so an edited, already applied migration is caught instead of silently skipped.</summary>
    public string Checksum => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Sql)));

    /// <summary>Reads every <c>*.sql</c> resource under a <c>Migrations</c> folder of the assemblies, ordered by id.</summary>
    public static IReadOnlyList<Migration> FromAssemblies(params Assembly[] assemblies)
    {
        var migrations = new List<Migration>();
        foreach (var assembly in assemblies)
        {
            foreach (var name in assembly.GetManifestResourceNames().Where(n => n.Contains(".Migrations.", StringComparison.Ordinal)
                         && n.EndsWith(".sql", StringComparison.Ordinal)))
            {
                using var stream = assembly.GetManifestResourceStream(name)!;
                using var reader = new StreamReader(stream, Encoding.UTF8);
                var file = name[(name.LastIndexOf(".Migrations.", StringComparison.Ordinal) + ".Migrations.".Length)..^".sql".Length];
                migrations.Add(new Migration(file, reader.ReadToEnd()));
            }
        }

        var duplicates = migrations.GroupBy(m => m.Id).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        if (duplicates.Count > 0)
        {
            throw new InvalidOperationException($"Duplicate migration ids: {string.Join(", ", duplicates)}");
        }

        return [.. migrations.OrderBy(m => m.Id, StringComparer.Ordinal)];
    }
}

/// <summary>
/// An assembly whose <c>Migrations/*.sql</c> resources belong to the database. Each capability registers its own;
/// ids are global, so each capability numbers in its own range (infrastructure 0001–0099, ingest 0100–0199,
/// profiles 0200–0299, segmentation 0300–0399).
/// </summary>
public sealed record MigrationAssembly(Assembly Assembly);

/// <summary>
/// Applies ordered migrations once each, each inside its own transaction, recording them in <c>schema_migrations</c>.
/// Two processes may run it at once: a session advisory lock makes the second wait and then find nothing to do.
/// </summary>
public sealed class MigrationRunner(NpgsqlDataSource dataSource, ILogger<MigrationRunner> logger)
{
    // An arbitrary constant, combined with the schema name so that test schemas in one database do not wait on each other.
    private const int LockNamespace = 0x5354524d; // "STRM"

    /// <summary>The migrations of the infrastructure itself (the shared tables).</summary>
    public static IReadOnlyList<Migration> Bundled { get; } = Migration.FromAssemblies(typeof(MigrationRunner).Assembly);

    /// <summary>Applies the bundled migrations.</summary>
    public Task<IReadOnlyList<string>> MigrateAsync(CancellationToken cancellationToken = default) => MigrateAsync(Bundled, cancellationToken);

    /// <summary>Applies those of <paramref name="migrations"/> not applied yet; returns the ids it applied.</summary>
    public async Task<IReadOnlyList<string>> MigrateAsync(IReadOnlyList<Migration> migrations, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(migrations);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var schema = (string)(await Scalar(connection, "select current_schema()", cancellationToken).ConfigureAwait(false) ?? "public");

        await Execute(connection, $"select pg_advisory_lock({LockNamespace}, hashtext(@schema))", cancellationToken, ("schema", schema))
            .ConfigureAwait(false);
        try
        {
            await Execute(connection, """
                create table if not exists schema_migrations (
                    id          text primary key,
                    checksum    text not null,
                    applied_at  timestamptz not null default now()
                )
                """, cancellationToken).ConfigureAwait(false);

            var applied = new Dictionary<string, string>(StringComparer.Ordinal);
            await using (var command = new NpgsqlCommand("select id, checksum from schema_migrations", connection))
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    applied[reader.GetString(0)] = reader.GetString(1);
                }
            }

            var done = new List<string>();
            foreach (var migration in migrations)
            {
                if (applied.TryGetValue(migration.Id, out var checksum))
                {
                    if (checksum != migration.Checksum)
                    {
                        throw new InvalidOperationException(
                            $"Migration {migration.Id} was changed after it was applied (checksum {checksum} in the database). Add a new migration instead.");
                    }

                    continue;
                }

                await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
                await Execute(connection, migration.Sql, cancellationToken).ConfigureAwait(false);
                await Execute(connection, "insert into schema_migrations (id, checksum) values (@id, @checksum)", cancellationToken,
                    ("id", migration.Id), ("checksum", migration.Checksum)).ConfigureAwait(false);
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                done.Add(migration.Id);
                logger.LogInformation("Applied migration {Migration} to schema {Schema}", migration.Id, schema);
            }

            return done;
        }
        finally
        {
            // A connection lost under a statement (a cancellation the server did not answer in time, a server that was
            // stopped) ended its session, and with it the lock; releasing it there would replace what went wrong with
            // "Connection is not open".
            if (connection.State == System.Data.ConnectionState.Open)
            {
                await Execute(connection, $"select pg_advisory_unlock({LockNamespace}, hashtext(@schema))", CancellationToken.None, ("schema", schema))
                    .ConfigureAwait(false);
            }
        }
    }

    private static async Task<object?> Scalar(NpgsqlConnection connection, string sql, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync(ct).ConfigureAwait(false);
    }

    private static async Task Execute(NpgsqlConnection connection, string sql, CancellationToken ct, params (string Name, object Value)[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }
}
