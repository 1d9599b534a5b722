namespace Samsa.IntegrationTests.Infrastructure;

using Samsa.Testing;

/// <summary>
/// One 3-broker <see cref="MockCluster"/> shared by the tests of a collection
/// (<c>[Collection(MockClusterCollectionDefinition.Name)]</c>). Tests in a collection run one after another,
/// but they share cluster state: a test that changes cluster-wide settings (broker down, API versions,
/// pushed errors, request tracking) should use its own <see cref="MockCluster.Start"/> instead.
/// Also loads librdkafka into Confluent.Kafka (<see cref="ConfluentLoader"/>).
/// </summary>
public sealed class MockClusterFixture : IDisposable
{
    private int _topicCounter;

    public MockClusterFixture()
    {
        LibrdkafkaVersion = ConfluentLoader.EnsureLoaded();
        Cluster = MockCluster.Start(3);
    }

    public MockCluster Cluster { get; }

    public string BootstrapServers => Cluster.BootstrapServers;

    /// <summary>The librdkafka version Confluent.Kafka and the test kit loaded.</summary>
    public string LibrdkafkaVersion { get; }

    /// <summary>Creates a topic with a unique name ("<paramref name="prefix"/>-N-guid") and returns the name.</summary>
    public string CreateTopic(int partitions, string prefix = "t", int replicationFactor = 1)
    {
        var name = $"{prefix}-{Interlocked.Increment(ref _topicCounter)}-{Guid.NewGuid():N}";
        Cluster.CreateTopic(name, partitions, replicationFactor);
        return name;
    }

    public void Dispose() => Cluster.Dispose();
}

/// <summary>The xunit collection sharing one <see cref="MockClusterFixture"/>.</summary>
[CollectionDefinition(Name)]
public sealed class MockClusterCollectionDefinition : ICollectionFixture<MockClusterFixture>
{
    public const string Name = "MockCluster";
}
