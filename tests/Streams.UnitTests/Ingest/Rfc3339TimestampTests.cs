using Streams.Ingest.Validation;

namespace Streams.UnitTests.Ingest;

public sealed class Rfc3339TimestampTests
{
    [Theory]
    [InlineData("2026-11-28T14:03:11.250Z", "2026-11-28T14:03:11.2500000+00:00")]
    [InlineData("2026-11-28T14:03:11+01:00", "2026-11-28T13:03:11.0000000+00:00")]
    [InlineData("2026-11-28T00:30:00-23:59", "2026-11-29T00:29:00.0000000+00:00")]
    [InlineData("2026-11-28T14:03:11.123456789Z", "2026-11-28T14:03:11.1234567+00:00")]
    [InlineData("2016-12-31T23:59:60Z", "2016-12-31T23:59:59.9999999+00:00")]
    [InlineData("2024-02-29T12:00:00Z", "2024-02-29T12:00:00.0000000+00:00")]
    public void TryParse_ValidTimestamp_GivesUtcInstant(string text, string expected)
    {
        Assert.True(Rfc3339Timestamp.TryParse(text, out var utc));
        Assert.Equal(expected, utc.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
    }

    [Theory]
    [InlineData("2025-02-29T12:00:00Z")]
    [InlineData("2026-04-31T12:00:00Z")]
    [InlineData("0000-01-01T00:00:00Z")]
    [InlineData("0001-01-01T00:00:00+00:01")]
    [InlineData("9999-12-31T23:59:59-00:01")]
    [InlineData("2026-11-28T14:03:61Z")]
    [InlineData("2026-11-28T14:60:00Z")]
    [InlineData("2026-11-28T14:03:11+01:60")]
    [InlineData("2026-11-28T14:03:11+01")]
    [InlineData("２０２６-11-28T14:03:11Z")]
    [InlineData("2026-11-28T14:03:11.")]
    [InlineData("2026-11-28T14:03:11 Z")]
    public void TryParse_InvalidTimestamp_Fails(string text) =>
        Assert.False(Rfc3339Timestamp.TryParse(text, out _));
}
