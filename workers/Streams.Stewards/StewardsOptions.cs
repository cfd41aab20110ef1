using System.ComponentModel.DataAnnotations;
using System.Net;

namespace Streams.Stewards;

/// <summary>The stewards' web console (section <c>Stewards</c>); off unless <see cref="Port"/> is set.</summary>
public sealed class StewardsOptions : IValidatableObject
{
    public const string Section = "Stewards";

    /// <summary>TCP port of the console; 0 (default) serves nothing.</summary>
    [Range(0, 65535)] public int Port { get; set; }

    /// <summary>Address to listen on (default <c>127.0.0.1</c>: the console holds personal data, so loopback unless told otherwise).</summary>
    [Required] public string Bind { get; set; } = "127.0.0.1";

    /// <summary>The people who may sign in, by name: a password hash (<c>stewards hash-password</c>) and a role.</summary>
    public Dictionary<string, StewardUser> Users { get; set; } = new(StringComparer.Ordinal);

    /// <summary>How far back the overview's charts reach (default 60 minutes).</summary>
    [Range(typeof(TimeSpan), "00:01:00", "30.00:00:00")] public TimeSpan OverviewSpan { get; set; } = TimeSpan.FromMinutes(60);

    /// <summary>Quarantine records per page of the browser (default 50).</summary>
    [Range(1, 1000)] public int PageSize { get; set; } = 50;

    /// <summary>How long a sign-in lasts without a request (default 8 hours).</summary>
    [Range(typeof(TimeSpan), "00:01:00", "7.00:00:00")] public TimeSpan SignInLifetime { get; set; } = TimeSpan.FromHours(8);

    public bool Enabled => Port > 0;

    /// <summary>The address <see cref="Bind"/> names (<c>localhost</c> is the IPv4 loopback).</summary>
    public IPAddress BindAddress => Bind.Trim() is "localhost" ? IPAddress.Loopback : IPAddress.Parse(Bind.Trim().Trim('[', ']'));

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        var bind = Bind?.Trim() ?? string.Empty;
        if (bind != "localhost" && !IPAddress.TryParse(bind.Trim('[', ']'), out _))
        {
            yield return new ValidationResult($"{Section}:Bind '{Bind}' is not an IP address or localhost", [nameof(Bind)]);
        }

        if (Enabled && Users.Count == 0)
        {
            yield return new ValidationResult($"{Section}:Users names nobody, so nobody could sign in (see README, data stewards)", [nameof(Users)]);
        }

        foreach (var (name, user) in Users)
        {
            if (!StewardRoles.All.Contains(user.Role, StringComparer.Ordinal))
            {
                yield return new ValidationResult(
                    $"{Section}:Users:{name}:Role must be one of {string.Join(", ", StewardRoles.All)}", [nameof(Users)]);
            }

            if (!Security.PasswordHashing.IsHash(user.PasswordHash))
            {
                // A password written here in clear would otherwise sit in a file or an environment variable.
                yield return new ValidationResult(
                    $"{Section}:Users:{name}:PasswordHash is not a password hash: make one with 'Streams.Host stewards hash-password'",
                    [nameof(Users)]);
            }
        }
    }
}

/// <summary>One person who may sign in to the console.</summary>
public sealed class StewardUser
{
    /// <summary>The password's hash (ASP.NET Core Identity's format, PBKDF2), never the password.</summary>
    public string PasswordHash { get; set; } = string.Empty;

    /// <summary><c>viewer</c> (masked records only) or <c>steward</c> (also originals, audited, and replays).</summary>
    public string Role { get; set; } = StewardRoles.Viewer;
}

public static class StewardRoles
{
    /// <summary>Sees figures, alerts, the audit and masked quarantine records.</summary>
    public const string Viewer = "viewer";

    /// <summary>Also reads originals (audited) and replays them.</summary>
    public const string Steward = "steward";

    public static IReadOnlyList<string> All { get; } = [Viewer, Steward];
}
