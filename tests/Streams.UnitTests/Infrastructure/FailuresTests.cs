using Confluent.Kafka;
using Npgsql;
using Streams.Infrastructure.Hosting;
using Streams.Infrastructure.Postgres;

namespace Streams.UnitTests.Infrastructure;

public sealed class FailuresTests
{
    [Theory]
    [InlineData("08006", true)] // connection failure
    [InlineData("08001", true)]
    [InlineData("40001", true)] // serialization failure
    [InlineData("40P01", true)] // deadlock
    [InlineData("53300", true)] // too many connections
    [InlineData("57P01", true)] // admin shutdown
    [InlineData("57P03", true)] // cannot connect now
    [InlineData("55P03", true)] // lock not available
    [InlineData(PartitionEpochs.FencedSqlState, true)]
    [InlineData("22P02", false)] // invalid text representation
    [InlineData("23505", false)] // unique violation
    [InlineData("23514", false)] // check violation
    [InlineData("54000", false)] // program limit
    [InlineData("42P01", false)] // undefined table
    [InlineData("42601", false)] // syntax error
    public void PostgresErrors_AreClassifiedBySqlStateClass(string sqlState, bool transient)
    {
        Assert.Equal(transient, Failures.IsTransient(Postgres(sqlState)));
    }

    [Theory]
    [InlineData("22003", true)]
    [InlineData("23502", true)]
    [InlineData("40001", false)]
    [InlineData("42P01", false)]
    public void PermanentData_IsOnlyTheDataAndIntegrityClasses(string sqlState, bool data)
    {
        Assert.Equal(data, Failures.IsPermanentData(Postgres(sqlState)));
    }

    [Fact]
    public void KafkaErrors_AreTransientUnlessFatal()
    {
        Assert.True(Failures.IsTransient(new KafkaException(ErrorCode.Local_Transport)));
        Assert.True(Failures.IsTransient(new ConsumeException(new ConsumeResult<byte[], byte[]>(), new Error(ErrorCode.Local_AllBrokersDown))));
        Assert.False(Failures.IsTransient(new KafkaException(new Error(ErrorCode.Local_Fatal, "fenced producer", isFatal: true))));
    }

    [Fact]
    public void NpgsqlErrors_FollowNpgsqlsOwnJudgement_AndFencingStartsANewSession()
    {
        Assert.True(Failures.IsTransient(new NpgsqlException("broken", new IOException("reset"))));
        Assert.True(Failures.IsTransient(new NpgsqlException("timeout", new TimeoutException())));
        Assert.False(Failures.IsTransient(new NpgsqlException("protocol")));
        Assert.True(Failures.IsTransient(new PartitionFencedException("partition t/0 of c is fenced")));
        Assert.True(Failures.IsTransient(new AggregateException(new TimeoutException())));
        Assert.True(Failures.IsTransient(new InvalidOperationException("wrapped", new IOException("reset"))));
    }

    [Fact]
    public void MessageText_DecidesNothing()
    {
        // Formerly any InvalidOperationException mentioning a connection was retried: a bug of ours says so too.
        Assert.False(Failures.IsTransient(new InvalidOperationException("the connection string option is missing")));
        Assert.False(Failures.IsTransient(new ArgumentException("a bug")));
    }

    private static PostgresException Postgres(string sqlState) => new("message", "ERROR", "ERROR", sqlState);
}

public sealed class PoisonBisectionTests
{
    [Theory]
    [InlineData(1000, 0)]
    [InlineData(1000, 999)]
    [InlineData(1000, 517)]
    [InlineData(7, 3)]
    [InlineData(2, 1)]
    public void OneBadRecord_IsFoundInAtMostTwoCommitsPerHalving_AndEveryOtherIsCommittedInOrder(int count, int poison)
    {
        var items = Enumerable.Range(0, count).ToList();
        var committed = new List<int>();
        var quarantined = new List<int>();

        var (attempts, found) = PoisonBisection.Isolate(items, new InvalidDataException("batch"), run =>
        {
            if (run.Contains(poison))
            {
                throw new InvalidDataException("poison");
            }

            committed.AddRange(run);
        }, (item, _) => quarantined.Add(item), e => e is InvalidDataException);

        Assert.Equal([poison], quarantined);
        Assert.Equal(1, found);
        Assert.Equal(items.Where(i => i != poison), committed);
        Assert.InRange(attempts, 2, 1 + 2 * (int)Math.Ceiling(Math.Log2(count)));
    }

    [Fact]
    public void AFailureThatIsNotAboutTheData_StopsTheSearch_KeepingWhatWasCommitted()
    {
        var committed = new List<int>();
        Assert.Throws<TimeoutException>(() => PoisonBisection.Isolate(Enumerable.Range(0, 8).ToList(), new InvalidDataException("batch"), run =>
        {
            if (run.Contains(6))
            {
                throw new TimeoutException();
            }

            committed.AddRange(run);
        }, (_, _) => { }, e => e is InvalidDataException));
        Assert.Equal([0, 1, 2, 3], committed);
    }
}
