using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Streams.Dashboard;
using Streams.Dashboard.Hosting;
using Streams.Infrastructure.Hosting;

namespace Streams.UnitTests.Dashboard;

public sealed class DashboardWiringTests
{
    private sealed class Worker : BackgroundService
    {
        protected override Task ExecuteAsync(CancellationToken stoppingToken) => Task.CompletedTask;
    }

    private static HostApplicationBuilder Builder(params string[] args)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = args });
        builder.AddStreamsEnvironment();
        builder.Services.AddHostedService<Worker>();
        builder.AddDashboard();
        return builder;
    }

    [Fact]
    public void AddDashboard_PutsTheReportRightAfterTheEnvironment_SoItStopsAfterTheWorkersAndBeforeTheEnvironment()
    {
        var hosted = Builder("--Console:Live=false").Services.Where(d => d.ServiceType == typeof(IHostedService)).ToList();

        Assert.Equal(typeof(StreamsEnvironmentService), hosted[0].ImplementationType);
        Assert.Equal(typeof(ExitReportService), hosted[1].ImplementationType);
        Assert.Equal(typeof(Worker), hosted[2].ImplementationType);
    }

    [Fact]
    public void AddDashboard_LiveOff_KeepsConsoleLogging_AndAddsNoView()
    {
        var services = Builder("--Console:Live=false").Services;

        Assert.Contains(services, d => d.ServiceType == typeof(ILoggerProvider) && d.ImplementationType == typeof(ConsoleLoggerProvider));
        Assert.Equal(3, services.Count(d => d.ServiceType == typeof(IHostedService)));
    }

    [Fact]
    public async Task AddDashboard_LiveOn_MovesLogLinesToTheStateDirFile_AndAddsTheView()
    {
        var stateDir = Path.Combine(Path.GetTempPath(), "streams-wiring-" + Guid.NewGuid().ToString("N")[..8]);
        await using var provider = Builder("--Console:Live=true", $"--Streams:StateDir={stateDir}").Services.BuildServiceProvider();

        var loggers = provider.GetServices<ILoggerProvider>().ToList();
        Assert.DoesNotContain(loggers, p => p is ConsoleLoggerProvider);
        Assert.Equal(Path.Combine(stateDir, DashboardExtensions.LogFileName), Assert.Single(loggers.OfType<FileLoggerProvider>()).Path);
        Assert.Contains(provider.GetServices<IHostedService>(), s => s.GetType().Name == "LiveViewService");
    }

    [Fact]
    public void AddDashboard_WithoutTheEnvironment_SaysWhatIsMissing()
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();

        var error = Assert.Throws<InvalidOperationException>(() => builder.AddDashboard());
        Assert.Contains("AddStreamsEnvironment", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, false, true)]
    [InlineData(null, true, false)]
    [InlineData(true, true, true)]
    [InlineData(false, false, false)]
    public void IsLive_FollowsTheTerminalUnlessConfigured(bool? configured, bool redirected, bool live) =>
        Assert.Equal(live, new DashboardOptions { Live = configured }.IsLive(redirected));
}
