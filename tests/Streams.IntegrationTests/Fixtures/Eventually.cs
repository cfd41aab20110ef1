using System.Diagnostics;
using System.Text.Json;

namespace Streams.IntegrationTests.Fixtures;

/// <summary>Polls a read until a condition holds on its value, and fails the test with the last value when it never does.</summary>
public static class Eventually
{
    public static async Task<T> UntilAsync<T>(Func<Task<T>> read, Func<T, bool> done, TimeSpan patience)
    {
        ArgumentNullException.ThrowIfNull(read);
        ArgumentNullException.ThrowIfNull(done);
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var value = await read();
            if (done(value) || clock.Elapsed > patience)
            {
                Assert.True(done(value), $"not reached in {patience}: {JsonSerializer.Serialize(value)}");
                return value;
            }

            await Task.Delay(200);
        }
    }

    public static Task<T> UntilAsync<T>(Func<T> read, Func<T, bool> done, TimeSpan patience) =>
        UntilAsync(() => Task.FromResult(read()), done, patience);
}
