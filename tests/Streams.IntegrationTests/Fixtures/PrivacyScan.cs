using System.Buffers;
using System.Text;
using Streams.Contracts.Topics;

namespace Streams.IntegrationTests.Fixtures;

/// <summary>Searches what a host wrote (output topics, tables, logs) for raw values it must never copy.</summary>
public static class PrivacyScan
{
    /// <summary>No output topic (every topic but the inputs), no table and no log line holds any of <paramref name="search"/>.</summary>
    public static async Task AssertOutputsCleanAsync(string bootstrapServers, InProcessHost host, TopicCatalog catalog, SearchValues<string> search)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(catalog);
        foreach (var topic in catalog.All.Where(t => t.Role != TopicRole.Input))
        {
            AssertClean($"topic {topic.Name}", TopicText(bootstrapServers, topic.Name), search);
        }

        foreach (var table in await Database.TablesAsync(host.ConnectionString))
        {
            AssertClean($"table {table}", string.Join('\n', await Database.DumpAsync(host.ConnectionString, table)), search);
        }

        AssertClean("the logs", host.Logs.Text, search);
    }

    /// <summary>Every key, value and header of <paramref name="topic"/> as text.</summary>
    public static string TopicText(string bootstrapServers, string topic)
    {
        var text = new StringBuilder();
        foreach (var record in TopicReader.ReadAll(bootstrapServers, topic))
        {
            text.Append(Utf8(record.Message.Key)).Append('\n').Append(Utf8(record.Message.Value)).Append('\n');
            foreach (var header in record.Message.Headers ?? [])
            {
                text.Append(header.Key).Append('=').Append(Utf8(header.GetValueBytes())).Append('\n');
            }
        }

        return text.ToString();
    }

    public static void AssertClean(string where, string text, SearchValues<string> search)
    {
        ArgumentNullException.ThrowIfNull(text);
        var at = text.AsSpan().IndexOfAny(search);
        Assert.True(at < 0, $"raw personal data in {where}: …{(at < 0 ? "" : text.Substring(Math.Max(0, at - 40), Math.Min(120, text.Length - Math.Max(0, at - 40))))}…");
    }

    private static string Utf8(byte[]? bytes) => bytes is null ? "" : Encoding.UTF8.GetString(bytes);
}
