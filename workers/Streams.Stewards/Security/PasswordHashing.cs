using Microsoft.AspNetCore.Identity;

namespace Streams.Stewards.Security;

/// <summary>
/// Passwords as ASP.NET Core Identity stores them (format v3: PBKDF2 with HMAC-SHA512, a random salt, 100,000
/// iterations), so the configuration holds no password and a stolen copy of it is slow to attack.
/// </summary>
public static class PasswordHashing
{
    private static readonly PasswordHasher<StewardUser> Hasher = new();

    // A hash of nothing anyone knows, verified when the name is unknown so that a wrong name costs as long as a wrong password.
    private static readonly string Decoy = Hasher.HashPassword(new StewardUser(), Guid.NewGuid().ToString("N"));

    public static string Hash(string password)
    {
        ArgumentException.ThrowIfNullOrEmpty(password);
        return Hasher.HashPassword(new StewardUser(), password);
    }

    /// <summary>Whether <paramref name="password"/> is the one <paramref name="hash"/> was made from; a null hash is checked against a decoy and fails.</summary>
    public static bool Verify(string? hash, string password)
    {
        var result = Hasher.VerifyHashedPassword(new StewardUser(), hash ?? Decoy, password ?? string.Empty);
        return hash is not null && result is PasswordVerificationResult.Success or PasswordVerificationResult.SuccessRehashNeeded;
    }

    /// <summary>Whether <paramref name="text"/> has the shape of a v3 hash (so is not a password written in clear).</summary>
    public static bool IsHash(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }

        var bytes = new byte[text.Length];
        // Format marker 0x01, then PRF, iteration count and salt length (4 bytes each), a salt and a subkey of 16+ bytes.
        return Convert.TryFromBase64String(text, bytes, out var length) && length >= 13 + 16 + 32 && bytes[0] == 0x01;
    }
}
