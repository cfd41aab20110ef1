using System.ComponentModel.DataAnnotations;
using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Streams.Infrastructure.Health;

/// <summary>The health endpoint (section <c>Health</c>); off unless <see cref="Port"/> is set.</summary>
public sealed class HealthOptions : IValidatableObject
{
    public const string Section = "Health";

    /// <summary>TCP port of <c>GET /health/live</c> and <c>GET /health/ready</c>; 0 (default) serves nothing.</summary>
    [Range(0, 65535)] public int Port { get; set; }

    /// <summary>Address to listen on (default <c>127.0.0.1</c>); <c>0.0.0.0</c>, <c>::</c>, <c>*</c> or <c>+</c> listen on every interface.</summary>
    [Required] public string Address { get; set; } = "127.0.0.1";

    /// <summary>A worker loop that has not polled for this long is stalled, so not live (default 60 s).</summary>
    public TimeSpan StallAfter { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// A worker loop whose sessions have failed this many times in a row on the same batch (read again after each
    /// restart, failing again) is stuck, so not live (default 5). Failures before a batch is in hand (an outage) do not count.
    /// </summary>
    [Range(1, 1_000_000)] public int MaxBatchRetries { get; set; } = 5;

    /// <summary>How long the broker and database checks wait for an answer (default 5 s).</summary>
    public TimeSpan CheckTimeout { get; set; } = TimeSpan.FromSeconds(5);

    public bool Enabled => Port > 0;

    /// <summary>Binds <paramref name="kestrel"/> to <see cref="Address"/> and <see cref="Port"/>.</summary>
    internal void Listen(KestrelServerOptions kestrel)
    {
        switch (Address.Trim().Trim('[', ']'))
        {
            case "0.0.0.0" or "::" or "*" or "+":
                kestrel.ListenAnyIP(Port); // both families where the machine has IPv6
                break;
            case "localhost":
                kestrel.ListenLocalhost(Port); // 127.0.0.1 and ::1
                break;
            case var ip:
                kestrel.Listen(IPAddress.Parse(ip), Port);
                break;
        }
    }

    /// <summary>The host a client on this machine asks (a command talking to a running host): any-address is loopback.</summary>
    public string ClientHost => Address.Trim().Trim('[', ']') switch
    {
        "0.0.0.0" or "*" or "+" => "127.0.0.1",
        "::" => "[::1]",
        var a when IPAddress.TryParse(a, out var ip) && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 => $"[{ip}]",
        var a => a,
    };

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        var address = Address?.Trim() ?? string.Empty;
        if (address is not ("*" or "+" or "localhost") && !IPAddress.TryParse(address.Trim('[', ']'), out _))
        {
            yield return new ValidationResult($"{Section}:Address '{Address}' is not an IP address, localhost, * or +", [nameof(Address)]);
        }

        if (StallAfter <= TimeSpan.Zero)
        {
            yield return new ValidationResult($"{Section}:StallAfter must be positive", [nameof(StallAfter)]);
        }

        if (CheckTimeout <= TimeSpan.Zero)
        {
            yield return new ValidationResult($"{Section}:CheckTimeout must be positive", [nameof(CheckTimeout)]);
        }
    }
}
