using Npgsql;

namespace Streams.IntegrationTests.Fixtures;

/// <summary>Small helpers to look into a test's database.</summary>
public static class Database
{
    public static async Task<List<object?[]>> RowsAsync(string connectionString, string sql)
    {
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await using var command = dataSource.CreateCommand(sql);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<object?[]>();
        while (await reader.ReadAsync())
        {
            var row = new object?[reader.FieldCount];
            for (var i = 0; i < row.Length; i++)
            {
                row[i] = reader.IsDBNull(i) ? null : reader.GetValue(i);
            }

            rows.Add(row);
        }

        return rows;
    }

    public static async Task<long> CountAsync(string connectionString, string sql) =>
        Convert.ToInt64((await RowsAsync(connectionString, sql))[0][0], System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Every user table of the public schema.</summary>
    public static async Task<List<string>> TablesAsync(string connectionString) =>
        (await RowsAsync(connectionString, "select tablename from pg_tables where schemaname = 'public' order by 1")).Select(r => (string)r[0]!).ToList();

    /// <summary>Each row of a table as text, for searching and comparing.</summary>
    public static async Task<List<string>> DumpAsync(string connectionString, string table, string? columns = null, string? orderBy = null) =>
        (await RowsAsync(connectionString, $"select ({columns ?? "t.*"})::text from \"{table}\" t order by {orderBy ?? "1"}"))
            .Select(r => (string)r[0]!).ToList();

    /// <summary>
    /// Makes PostgreSQL refuse, with <paramref name="sqlState"/>, every write of the identifier <paramref name="pseudonym"/>
    /// (a test-only trigger on <c>identifiers</c>, once the host has created it): a record the reader accepts and the
    /// store refuses, every time, as a constraint added after the fact would.
    /// </summary>
    public static async Task RefuseIdentifierAsync(string connectionString, string pseudonym, string sqlState)
    {
        await WaitForColumnAsync(connectionString, "identifiers", "pseudonym");
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await using var install = dataSource.CreateCommand($$"""
            create function refuse_identifier() returns trigger language plpgsql as $$
            begin
                if new.pseudonym = '{{pseudonym}}' then
                    raise exception 'identifier refused' using errcode = '{{sqlState}}';
                end if;
                return new;
            end
            $$;
            create trigger refuse_identifier before insert or update on identifiers for each row execute function refuse_identifier();
            """);
        await install.ExecuteNonQueryAsync();
    }

    /// <summary>Waits until the host's migrations have given <paramref name="table"/> its <paramref name="column"/>.</summary>
    public static async Task WaitForColumnAsync(string connectionString, string table, string column)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (await CountAsync(connectionString,
            $"select count(*) from information_schema.columns where table_schema = current_schema() and table_name = '{table}' and column_name = '{column}'") == 0)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), "the host never created its tables");
            await Task.Delay(100);
        }
    }

    public static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await using var command = dataSource.CreateCommand(sql);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>
    /// From now on PostgreSQL refuses every row of <paramref name="table"/> whose <paramref name="column"/> is
    /// <paramref name="value"/> with a data exception (SQLSTATE 22003, numeric value out of range), as it would a value
    /// past a column's limits: a trigger, so the worker's statements are the ones that fail.
    /// </summary>
    public static Task RefuseRowsAsync(string connectionString, string table, string column, string value) =>
        ExecuteAsync(connectionString, $"""
            create function refuse_{table}() returns trigger language plpgsql as $$
            begin
                if new.{column} = '{value}' then raise exception 'refused' using errcode = '22003'; end if;
                return new;
            end $$;
            create trigger refuse_{table} before insert or update on {table} for each row execute function refuse_{table}();
            """);
}
