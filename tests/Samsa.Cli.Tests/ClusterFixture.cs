using Samsa.IntegrationTests.Infrastructure;
using Samsa.Testing;

namespace Samsa.Cli.Tests;

/// <summary>One 3-broker mock cluster shared by the tests of the collection.</summary>
public sealed class ClusterFixture : IDisposable
{
    private int _counter;

    public ClusterFixture()
    {
        ConfluentLoader.EnsureLoaded();
        Cluster = MockCluster.Start(3);
    }

    public MockCluster Cluster { get; }

    public string CreateTopic(int partitions)
    {
        var name = $"cli-{Interlocked.Increment(ref _counter)}-{Guid.NewGuid():N}";
        Cluster.CreateTopic(name, partitions);
        return name;
    }

    public void Dispose() => Cluster.Dispose();
}

[CollectionDefinition(Name)]
public sealed class ClusterCollectionDefinition : ICollectionFixture<ClusterFixture>
{
    public const string Name = "Cluster";
}
