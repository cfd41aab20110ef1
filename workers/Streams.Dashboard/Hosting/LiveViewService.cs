using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Spectre.Console;
using Streams.Dashboard.Figures;
using Streams.Dashboard.Rendering;

namespace Streams.Dashboard.Hosting;

/// <summary>
/// Redraws the figures in place every <see cref="DashboardOptions.RefreshInterval"/> until the host stops. It runs on a
/// thread of its own and only reads: a failing sample or render is logged and the next one tried; the workers never wait on it.
/// </summary>
internal sealed class LiveViewService(
    DashboardSampler sampler, IAnsiConsole console, IOptions<DashboardOptions> options, TimeProvider time, ILogger<LiveViewService> logger)
    : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        // Off the host's start path: Live() blocks its caller between refreshes.
        Task.Run(() => RunAsync(stoppingToken), CancellationToken.None);

    private async Task RunAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.RefreshInterval;
        try
        {
            var first = await sampler.SampleAsync(segmentsDue: true, stoppingToken).ConfigureAwait(false);
            await console.Live(DashboardRenderer.Render(first))
                .AutoClear(false)
                .Overflow(VerticalOverflow.Ellipsis)
                .Cropping(VerticalOverflowCropping.Bottom)
                .StartAsync(async context =>
                {
                    while (true)
                    {
                        try
                        {
                            await Task.Delay(interval, time, stoppingToken).ConfigureAwait(false);
                        }
                        catch (OperationCanceledException)
                        {
                            break;
                        }

                        await DrawAsync(context, segmentsDue: false, stoppingToken).ConfigureAwait(false);
                    }

                    // The screen left behind shows the figures at Ctrl-C, not those of up to a second before (each source
                    // is bounded by the sample timeout, so this cannot hold shutdown for long).
                    await DrawAsync(context, segmentsDue: true, CancellationToken.None).ConfigureAwait(false);
                }).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Ctrl-C: the last screen stays as it was drawn.
        }
        catch (Exception e)
        {
            // The view is a window on the workers, never a reason to stop them.
            logger.LogError(e, "The live view stopped; the workers go on");
        }
    }

    private async Task DrawAsync(LiveDisplayContext context, bool segmentsDue, CancellationToken cancellationToken)
    {
        try
        {
            var figures = await sampler.SampleAsync(segmentsDue, cancellationToken).ConfigureAwait(false);
            context.UpdateTarget(DashboardRenderer.Render(figures));
            context.Refresh();
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping: the final draw follows.
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogWarning(e, "The live view could not draw this second's figures");
        }
    }
}
