using Samsa.IntegrationTests.Infrastructure;
using Samsa.Testing;
using Samsa.Testing.Proxy;

namespace Samsa.IntegrationTests.Oracle;

/// <summary>What the oracle tests share: a cluster behind a proxy, and producer options with short timeouts.</summary>
internal static class OracleHarness
{
    /// <summary>The bound of every wait: a hang fails the test instead of stalling the run.</summary>
    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    /// <summary>Short timeouts and backoffs, and small batches so that a partition has several.</summary>
    public static ProducerOptions Options(KafkaProxy proxy, TimeSpan requestTimeout) => new()
    {
        BootstrapServers = proxy.BootstrapServers.Split(','),
        Linger = TimeSpan.FromMilliseconds(5),
        BatchSize = 1024, // several batches per partition
        RequestTimeout = requestTimeout,
        DeliveryTimeout = TimeSpan.FromSeconds(30),
        RetryBackoff = TimeSpan.FromMilliseconds(50),
        RetryBackoffMax = TimeSpan.FromMilliseconds(300),
        ReconnectBackoff = TimeSpan.FromMilliseconds(50),
        ReconnectBackoffMax = TimeSpan.FromMilliseconds(200),
    };

    /// <summary>A cluster of <paramref name="brokers"/> whose topic's partition p is led by broker p % brokers + 1,
    /// behind a proxy (each test its own: faults and advertised ports are cluster-wide).</summary>
    public static (MockCluster Cluster, KafkaProxy Proxy) Start(string topic, int partitions, int brokers, bool enforceSequenceRules)
    {
        ConfluentLoader.EnsureLoaded();
        var cluster = MockCluster.Start(brokers);
        cluster.CreateTopic(topic, partitions);
        for (var p = 0; p < partitions; p++)
        {
            cluster.SetPartitionLeader(topic, p, p % brokers + 1);
        }

        var proxy = KafkaProxy.Start(cluster);
        proxy.EnforceSequenceRules = enforceSequenceRules;
        return (cluster, proxy);
    }
}
