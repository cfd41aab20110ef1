using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using Streams.Activation;
using Streams.Activation.Requests;
using Streams.Activation.Store;
using Streams.Infrastructure.Hosting;
using Streams.Infrastructure.Postgres;
using Streams.Ingest;
using Streams.Ingest.Pseudonymization;
using Streams.Profiles;
using Streams.Segmentation;

namespace Streams.Host;

/// <summary>
/// <c>activate --list FILE [--segment N] [--out FILE] [--requester NAME]</c>: the audience join (CONTRACT §8) for scripts.
/// Reads a CSV list, pseudonymizes its identifiers with the configured key as ingest does, and writes the record ids of
/// the rows that match (with <c>--segment</c>; else <c>record_id,segment_id</c> of every matched row) to standard output
/// or <c>--out</c>. Identifiers come from the file only, never from arguments; nothing raw is printed or stored. Runs
/// the list in batches of <c>Activation:BatchSize</c> rows, each looked up in one round trip per table, and audits it.
/// </summary>
internal static class ActivateCommand
{
    public const string Name = "activate";

    private const string Usage = "usage: Streams.Host activate --list FILE.csv [--segment N] [--out FILE] [--requester NAME] [--Key=Value …] " +
                                 "(CSV header: record_id and any of email, phone, loyalty, device, social)";

    public static async Task<int> RunAsync(string[] args, TextWriter? standardOutput = null)
    {
        string? list = null, outPath = null, requester = "activate-command";
        int? segment = null;
        var settings = new List<string>();
        for (var i = 1; i < args.Length; i++)
        {
            var arg = args[i];
            var value = i + 1 < args.Length ? args[i + 1] : null;
            switch (arg)
            {
                case "--list" when value is not null:
                    list = value;
                    i++;
                    break;
                case "--out" when value is not null:
                    outPath = value;
                    i++;
                    break;
                case "--requester" when value is not null:
                    requester = value;
                    i++;
                    break;
                case "--segment" when int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var s):
                    segment = s;
                    i++;
                    break;
                default:
                    if (!arg.StartsWith("--", StringComparison.Ordinal) || !arg.Contains('=', StringComparison.Ordinal))
                    {
                        // Never echo it: it may be an identifier typed where the file was meant to be.
                        await Console.Error.WriteLineAsync($"streams: activate takes identifiers from the list file only, never from the command line " +
                            $"(argument {i} is not an option). {Usage}").ConfigureAwait(false);
                        return StreamsHost.ExitConfiguration;
                    }

                    settings.Add(arg);
                    break;
            }
        }

        if (list is null || !File.Exists(list))
        {
            await Console.Error.WriteLineAsync(list is null ? Usage : "streams: activate: the list file does not exist. " + Usage).ConfigureAwait(false);
            return StreamsHost.ExitConfiguration;
        }

        var listId = Path.GetFileNameWithoutExtension(list);
        if (ActivationRequestReader.LooksPersonal(listId) || ActivationRequestReader.LooksPersonal(requester) || requester.Length > ActivationRequestReader.MaxIdLength)
        {
            await Console.Error.WriteLineAsync("streams: activate: the list's file name and --requester are audited; they must not be personal data " +
                                               "(no e-mail address or phone number).").ConfigureAwait(false);
            return StreamsHost.ExitConfiguration;
        }

        listId = listId.Length > ActivationRequestReader.MaxIdLength ? listId[..ActivationRequestReader.MaxIdLength] : listId;
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new Microsoft.Extensions.Hosting.HostApplicationBuilderSettings
        {
            Args = [.. settings],
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Logging.ClearProviders();
        builder.Services.AddOptions<KafkaOptions>().BindConfiguration(KafkaOptions.Section);
        builder.Services.AddOptions<StreamsOptions>().BindConfiguration(StreamsOptions.Section);
        builder.Services.AddOptions<ActivationOptions>().BindConfiguration(ActivationOptions.Section).ValidateDataAnnotations();
        // A key made up here would match nobody and would become the key the next host uses.
        builder.Services.AddSingleton(DevelopmentKeyPolicy.ReadOnly);
        builder.Services.AddIngestPipeline();
        using var host = builder.Build();

        var streams = host.Services.GetRequiredService<IOptions<StreamsOptions>>().Value;
        var batchSize = host.Services.GetRequiredService<IOptions<ActivationOptions>>().Value.BatchSize;
        var matcher = new ActivationMatcher(host.Services.GetRequiredService<Pseudonymizer>());
        if (TransparencyCommand.ConnectionString(builder.Configuration, streams) is not { } connectionString)
        {
            await Console.Error.WriteLineAsync("streams: no database: set ConnectionStrings:Profiles, or run this next to a running host " +
                                               "(it reads <state dir>/postgres).").ConfigureAwait(false);
            return StreamsHost.ExitConfiguration;
        }

        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        // The audit table may not exist yet when no activation worker ever ran against this database.
        await new MigrationRunner(dataSource, NullLogger<MigrationRunner>.Instance).MigrateAsync(Migration.FromAssemblies(
            typeof(MigrationRunner).Assembly, typeof(ProfilesExtensions).Assembly, typeof(SegmentationExtensions).Assembly,
            typeof(ActivationExtensions).Assembly), CancellationToken.None).ConfigureAwait(false);

        var output = outPath is null ? standardOutput ?? Console.Out : new StreamWriter(outPath, append: false);
        var (rows, matched, refused) = (0L, 0L, 0L);
        try
        {
            using var file = new StreamReader(list);
            var batch = new List<PseudonymousRequest>(batchSize);
            foreach (var line in ActivationListReader.Read(file, listId, requester, segment))
            {
                if (line.Request is not null && matcher.Pseudonymize(line.Request) is { } row)
                {
                    batch.Add(row);
                    if (batch.Count == batchSize)
                    {
                        (rows, matched) = Flush(dataSource, batch, segment, output, (rows, matched));
                    }

                    continue;
                }

                refused++;
                // By line number, never by value.
                await Console.Error.WriteLineAsync($"activate: line {line.Line}: refused ({line.Refusal?.Code ?? ActivationReasonCodes.PersonalDataInId}, " +
                                                   $"{line.Refusal?.Field ?? "record_id"})").ConfigureAwait(false);
            }

            (rows, matched) = Flush(dataSource, batch, segment, output, (rows, matched));
            await using (var connection = await dataSource.OpenConnectionAsync().ConfigureAwait(false))
            await using (var transaction = await connection.BeginTransactionAsync().ConfigureAwait(false))
            {
                ActivationRepository.Save(connection, transaction, [], [new AuditCounts(listId, requester, rows + refused, matched, refused)], [],
                    System.Collections.ObjectModel.ReadOnlyDictionary<(string, int), long>.Empty, TimeProvider.System.GetUtcNow());
                await transaction.CommitAsync().ConfigureAwait(false);
            }
        }
        catch (FormatException e)
        {
            await Console.Error.WriteLineAsync($"streams: activate: {e.Message}. {Usage}").ConfigureAwait(false);
            return StreamsHost.ExitConfiguration;
        }
        finally
        {
            await output.FlushAsync().ConfigureAwait(false);
            if (outPath is not null)
            {
                await output.DisposeAsync().ConfigureAwait(false);
            }
        }

        await Console.Error.WriteLineAsync($"activate: {rows + refused} rows, {matched} matched, {refused} refused").ConfigureAwait(false);
        return StreamsHost.ExitOk;
    }

    private static (long Rows, long Matched) Flush(NpgsqlDataSource dataSource, List<PseudonymousRequest> batch, int? segment, TextWriter output,
        (long Rows, long Matched) so)
    {
        if (batch.Count == 0)
        {
            return so;
        }

        using var connection = dataSource.OpenConnection();
        using var transaction = connection.BeginTransaction();
        var answers = AudienceLookup.Answer(connection, transaction, batch);
        transaction.Commit();
        var matched = 0;
        for (var i = 0; i < batch.Count; i++)
        {
            if (answers[i].Matched)
            {
                matched++;
                output.WriteLine(segment is null ? $"{Csv(batch[i].RecordId)},{answers[i].SegmentId}" : Csv(batch[i].RecordId));
            }
        }

        var rows = so.Rows + batch.Count;
        batch.Clear();
        return (rows, so.Matched + matched);
    }

    private static string Csv(string value) =>
        value.IndexOfAny([',', '"', '\n', '\r']) < 0 ? value : "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}
