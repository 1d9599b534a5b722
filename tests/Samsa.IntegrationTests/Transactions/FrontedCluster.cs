using Samsa.Testing;
using Samsa.Testing.Proxy;
using Ck = Confluent.Kafka;

namespace Samsa.IntegrationTests.Transactions;

/// <summary>A mock cluster behind a <see cref="KafkaProxy"/>, with its <see cref="TransactionFront"/> unless started
/// without; disposing stops the proxy, then the cluster.</summary>
internal sealed class FrontedCluster : IAsyncDisposable
{
    private FrontedCluster(MockCluster mock, bool withFront)
    {
        Mock = mock;
        Proxy = KafkaProxy.Start(mock);
        if (withFront)
        {
            Proxy.EnableTransactionFront();
        }
    }

    public MockCluster Mock { get; }

    public KafkaProxy Proxy { get; }

    public TransactionFront Front => Proxy.TransactionFront ?? throw new InvalidOperationException("Started without the transaction front.");

    public static FrontedCluster Start(MockCluster mock, bool withFront = true)
    {
        try
        {
            return new FrontedCluster(mock, withFront);
        }
        catch
        {
            mock.Dispose();
            throw;
        }
    }

    /// <summary>A Confluent consumer of <paramref name="group"/> through the proxy that commits nothing itself.</summary>
    public Ck.IConsumer<Ck.Ignore, Ck.Ignore> GroupConsumer(string group, Ck.IsolationLevel isolation = Ck.IsolationLevel.ReadCommitted) =>
        new Ck.ConsumerBuilder<Ck.Ignore, Ck.Ignore>(new Ck.ConsumerConfig
        {
            BootstrapServers = Proxy.BootstrapServers,
            GroupId = group,
            EnableAutoCommit = false,
            IsolationLevel = isolation,
        }).SetLogHandler(static (_, _) => { }).Build();

    /// <summary>The group's committed offset for <paramref name="partition"/>, as a new consumer of the group reads it (OffsetFetch).</summary>
    public Ck.Offset Committed(string group, Ck.TopicPartition partition, TimeSpan timeout, Ck.IsolationLevel isolation = Ck.IsolationLevel.ReadCommitted)
    {
        using var consumer = GroupConsumer(group, isolation);
        return consumer.Committed([partition], timeout).Single().Offset;
    }

    /// <summary>
    /// The partition's end as a consumer at <paramref name="isolation"/> sees it: the high watermark (one past the last
    /// marker) read uncommitted, the last stable offset read committed.
    /// </summary>
    public long EndOffset(string topic, int partition, TimeSpan timeout, Ck.IsolationLevel isolation)
    {
        using var consumer = GroupConsumer("end-" + Guid.NewGuid().ToString("N"), isolation);
        return consumer.QueryWatermarkOffsets(new Ck.TopicPartition(topic, partition), timeout).High.Value;
    }

    public async ValueTask DisposeAsync()
    {
        await Proxy.DisposeAsync();
        Mock.Dispose();
    }
}
