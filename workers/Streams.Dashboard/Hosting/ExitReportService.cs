using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Streams.Dashboard.Figures;
using Streams.Dashboard.Report;
using Streams.Infrastructure.Hosting;

namespace Streams.Dashboard.Hosting;

/// <summary>
/// Writes <c>&lt;state dir&gt;/report/report.md</c> when the host stops: after the workers (so their last batch is counted)
/// and before the broker and the database go away. It may hold shutdown for <see cref="DashboardOptions.ReportTimeout"/>
/// at most; a source that does not answer by then is left out and named in the report.
/// </summary>
public sealed class ExitReportService(
    DashboardSampler sampler, StreamsEnvironment environment, IOptions<DashboardOptions> options, ILogger<ExitReportService> logger)
    : IHostedService
{
    /// <summary>The report's folder.</summary>
    public string Directory => Path.Combine(environment.StateDirectory, "report");

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (!options.Value.Report || !environment.IsReady)
        {
            return;
        }

        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(options.Value.ReportTimeout);
        try
        {
            var figures = await sampler.SampleAsync(segmentsDue: true, bounded.Token).ConfigureAwait(false);
            var path = ReportWriter.Write(Directory, figures);
            logger.LogInformation("Run report written to {Path}", path);
            // Printed as the broker and database addresses are: the person who started the host looks for it here.
            Console.WriteLine($"Report: {path}");
        }
        catch (OperationCanceledException)
        {
            logger.LogWarning("The run report was not written within {Timeout}", options.Value.ReportTimeout);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            logger.LogError("The run report could not be written to {Directory}: {Error}", Directory, e.Message);
        }
    }
}
