namespace Streams.IntegrationTests.Stewards;

/// <summary>One console for a test class; tests act on different records, so they do not see each other's replays.</summary>
public sealed class ConsoleServerFixture : IAsyncLifetime
{
    internal ConsoleServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await ConsoleServer.StartAsync();

    public async Task DisposeAsync() => await Server.DisposeAsync();
}
