using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.AspNetCore.DataProtection.XmlEncryption;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Streams.Contracts.Topics;
using Streams.Infrastructure.Hosting;
using Streams.Profiles.Lineage;
using Streams.Quality.Figures;
using Streams.Quality.Stewardship;
using Streams.Stewards.Security;

namespace Streams.Stewards;

/// <summary>What the console's pages read and act on, taken from the host's services.</summary>
/// <param name="Quality">The data-quality figures and alerts; null when the host does not run the quality worker.</param>
/// <param name="KeysDirectory">Where the sign-in and antiforgery keys are kept; null keeps them in memory (a restart signs everyone out).</param>
/// <param name="Merges">Recorded merges and undoing them; null when the host does not run the profiles worker.</param>
internal sealed record StewardsServices(
    IStewardship Stewardship, IQualityReader? Quality, IReadOnlyList<string> Topics, TimeProvider Time, string? KeysDirectory = null,
    IMergeOperations? Merges = null);

/// <summary>
/// Serves the stewards' console on its own Kestrel server inside the host (not the health endpoint's: the console has
/// its own port and bind address), and the console's web services (authentication, antiforgery, data protection)
/// live in their own container, fed with the host's stewardship service, quality figures and logging.
/// </summary>
internal sealed class StewardsConsole(IOptions<StewardsOptions> options, IServiceProvider services, ILoggerFactory loggerFactory)
    : IHostedService, IAsyncDisposable
{
    private WebApplication? app;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var stewardship = services.GetService<IStewardship>() ?? throw new StreamsConfigurationException(
            $"{StewardsOptions.Section}:Port is set, but this host runs no stewardship service: serve the console from a host with the quality worker (--only all,quality)");
        var settings = options.Value;
        var keys = services.GetService<StreamsEnvironment>() is { } environment ? Path.Combine(environment.StateDirectory, "stewards-keys") : null;
        app = Build(settings, new StewardsServices(stewardship, services.GetService<IQualityReader>(),
            services.GetRequiredService<TopicCatalog>().Inputs, services.GetService<TimeProvider>() ?? TimeProvider.System, keys,
            services.GetService<IMergeOperations>()), loggerFactory, settings.Port);
        await EmbeddedWeb.StartAsync(app, $"{StewardsOptions.Section}:Port {settings.Port} on {settings.Bind}", cancellationToken)
            .ConfigureAwait(false);

        // Printed like the health endpoint's address: a person starting the host reads it.
        Console.WriteLine($"Stewards' console: {EmbeddedWeb.Address(app)}");
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (app is not null)
        {
            await app.StopAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (app is not null)
        {
            await app.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>The console's web application on <paramref name="port"/> (0: any free port, for tests), not yet started.</summary>
    internal static WebApplication Build(StewardsOptions options, StewardsServices services, ILoggerFactory loggerFactory, int port)
    {
        var web = EmbeddedWeb.CreateBuilder(typeof(StewardsConsole), loggerFactory);
        if (services.KeysDirectory is { } keys)
        {
            // In the state dir (0700), so a sign-in outlives a restart and no key lands in the user's home.
            OwnerOnly.CreateDirectory(keys);
            web.Services.AddDataProtection().SetApplicationName("streams-stewards").PersistKeysToFileSystem(new DirectoryInfo(keys));
            // Kept as they are, on purpose: a key to encrypt them would have to live beside them (the state dir holds the
            // pseudonymization key with the same owner-only mode), which protects nothing more. Said explicitly, the key
            // manager does not warn at every start that no encryptor is configured.
            web.Services.Configure<KeyManagementOptions>(o => o.XmlEncryptor = new NullXmlEncryptor());
        }
        else
        {
            // Keys in memory only. The key manager stays registered and its start-up service loads the key ring, which
            // would create a key in the user's home (~/.aspnet) that the ephemeral provider never uses: it must not
            // make one.
            web.Services.AddDataProtection().UseEphemeralDataProtectionProvider();
            web.Services.Configure<KeyManagementOptions>(o =>
            {
                o.XmlRepository = new MemoryKeyRepository();
                o.XmlEncryptor = new NullXmlEncryptor(); // a key that never leaves the process needs no encryption at rest
            });
        }

        web.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(options.BindAddress, port));
        web.Services.AddSingleton(services);
        web.Services.AddSingleton(Options.Create(options));
        web.AddStewardsSecurity(options);
        var application = web.Build();
        application.UseStewardsSecurity();
        application.MapStewardsPages();
        return application;
    }
}

/// <summary>The key manager's repository while the keys are ephemeral: in memory, gone with the process.</summary>
internal sealed class MemoryKeyRepository : IXmlRepository
{
    private readonly System.Collections.Concurrent.ConcurrentQueue<System.Xml.Linq.XElement> elements = new();

    public IReadOnlyCollection<System.Xml.Linq.XElement> GetAllElements() => [.. elements.Select(e => new System.Xml.Linq.XElement(e))];

    public void StoreElement(System.Xml.Linq.XElement element, string friendlyName) => elements.Enqueue(new System.Xml.Linq.XElement(element));
}
