using Streams.Stewards;
using Streams.Stewards.Security;

namespace Streams.Host;

/// <summary>
/// <c>stewards hash-password</c>: reads a password from standard input (at a terminal, from a prompt that does not echo
/// it) and prints its hash for <c>Stewards:Users:&lt;name&gt;:PasswordHash</c>. Never from the command line, where ps
/// and the shell's history would show it.
/// </summary>
internal static class StewardsCommand
{
    public const string Name = "stewards";

    private const string Usage = "usage: Streams.Host stewards hash-password < password (at a terminal it asks, without echo)";

    public static async Task<int> RunAsync(string[] args, TextReader input, TextWriter output, bool interactive)
    {
        if (args is not [Name, "hash-password"])
        {
            await Console.Error.WriteLineAsync(Usage).ConfigureAwait(false);
            return StreamsHost.ExitConfiguration;
        }

        var password = interactive ? TransparencyCommand.ReadHidden("password (not shown): ") : await input.ReadLineAsync().ConfigureAwait(false);
        if (string.IsNullOrEmpty(password))
        {
            await Console.Error.WriteLineAsync("streams: no password on standard input. " + Usage).ConfigureAwait(false);
            return StreamsHost.ExitConfiguration;
        }

        await output.WriteLineAsync(PasswordHashing.Hash(password)).ConfigureAwait(false);
        await Console.Error.WriteLineAsync(
            $"set it as {StewardsOptions.Section}:Users:<name>:PasswordHash, with :Role {string.Join(" or ", StewardRoles.All)}").ConfigureAwait(false);
        return StreamsHost.ExitOk;
    }
}
