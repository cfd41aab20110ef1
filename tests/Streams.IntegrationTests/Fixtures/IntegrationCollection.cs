namespace Streams.IntegrationTests.Fixtures;

/// <summary>
/// One broker and one database server for the whole run (xUnit v2 shares a collection fixture within its collection,
/// so every integration test class joins this one).
/// </summary>
[CollectionDefinition(Name)]
public sealed class IntegrationCollection : ICollectionFixture<KafkaFixture>, ICollectionFixture<PostgresFixture>
{
    public const string Name = "integration";
}
