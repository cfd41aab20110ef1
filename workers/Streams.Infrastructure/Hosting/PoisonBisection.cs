namespace Streams.Infrastructure.Hosting;

/// <summary>
/// Finds the records that make a batch fail for good (<see cref="Failures.IsPermanentData"/>): the batch is split in
/// halves, each committed on its own in order, and a half that fails is split again, until a record that fails alone
/// is found; it goes to quarantine and everything else is committed. One bad record in a batch of n costs at most
/// 2·⌈log2 n⌉ commits after the one that failed. The halves are committed in input order, so a partition's offsets
/// only move forward, and a crash in between resumes after the last half committed.
/// </summary>
public static class PoisonBisection
{
    /// <summary>
    /// Isolates the bad records of <paramref name="items"/>, whose commit as a whole has just failed with
    /// <paramref name="failure"/>. <paramref name="commit"/> commits a run of items in one transaction;
    /// <paramref name="quarantine"/> commits one item's quarantine with the error it failed with alone. An error that
    /// is not a data error (<paramref name="isPoison"/> false) is thrown: what was committed stays committed.
    /// </summary>
    /// <returns>The commits tried, the first failed one included, and the items quarantined.</returns>
    public static (int Attempts, int Quarantined) Isolate<T>(IReadOnlyList<T> items, Exception failure, Action<IReadOnlyList<T>> commit,
        Action<T, Exception> quarantine, Func<Exception, bool> isPoison)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(commit);
        ArgumentNullException.ThrowIfNull(quarantine);
        ArgumentNullException.ThrowIfNull(isPoison);
        var attempts = 1;
        var quarantined = 0;
        Split(new ArraySegment<T>([.. items]), failure);
        return (attempts, quarantined);

        void Split(ArraySegment<T> failed, Exception error)
        {
            if (failed.Count == 1)
            {
                quarantine(failed[0], error);
                quarantined++;
                return;
            }

            var half = failed.Count / 2;
            Try(failed[..half]);
            Try(failed[half..]);
        }

        void Try(ArraySegment<T> run)
        {
            attempts++;
            try
            {
                commit(run);
            }
            catch (Exception e) when (isPoison(e))
            {
                Split(run, e);
            }
        }
    }
}
