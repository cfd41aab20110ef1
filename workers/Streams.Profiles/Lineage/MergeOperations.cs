using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Streams.Contracts.Topics;
using Streams.Infrastructure.Hosting;
using Streams.Profiles.Identity;
using Streams.Profiles.Processing;
using Streams.Profiles.Store;

namespace Streams.Profiles.Lineage;

/// <summary>One recorded merge as an operator sees it: opaque ids and times only.</summary>
public sealed record MergeSummary(string MergeId, string Absorbed, string Survivor, DateTimeOffset MergedAt, string EventId, DateTimeOffset? UnmergedAt);

/// <summary>Merges as a running host offers them to its operators' tools (the stewards' console): the recent ones, and undoing one.</summary>
public interface IMergeOperations
{
    /// <summary>The most recent merges, newest first, undone ones included.</summary>
    Task<IReadOnlyList<MergeSummary>> RecentAsync(int limit, CancellationToken cancellationToken);

    /// <summary>Undoes merge <paramref name="mergeId"/> as the <c>unmerge</c> command does; throws <see cref="SplitRefusedException"/> or
    /// <see cref="LineageIncompleteException"/> when it cannot, having changed nothing.</summary>
    SplitResult Unmerge(string mergeId);
}

/// <summary>
/// <see cref="IMergeOperations"/> inside the host that runs the profiles worker: the same <see cref="ProfileSplitter"/> the
/// <c>unmerge</c> command uses, on the host's database and broker, so it takes the worker's locks as the command does.
/// </summary>
public sealed class MergeOperations(StreamsEnvironment environment, TopicCatalog catalog, IOptions<IdentityOptions> identity,
    ProfileRecordWriter writer, TimeProvider timeProvider, ILogger<MergeOperations> logger) : IMergeOperations
{
    public async Task<IReadOnlyList<MergeSummary>> RecentAsync(int limit, CancellationToken cancellationToken)
    {
        await using var connection = await environment.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return LineageStore.Recent(connection, limit);
    }

    public SplitResult Unmerge(string mergeId) =>
        new ProfileSplitter(environment.DataSource, catalog, identity.Value.Caps, identity.Value.MaxSplitLineageBytes, writer, timeProvider,
            environment.BootstrapServers, logger).Unmerge(mergeId);
}
