using Samsa.IntegrationTests.Infrastructure;
using Samsa.Testing;

namespace Samsa.IntegrationTests.Producer;

/// <summary>The default producer is idempotent, as Java's is: it asks for a producer id before its first batch.</summary>
public sealed class IdempotenceTests
{
    [Fact]
    public async Task DefaultProducerInitialisesItsProducerIdOnceAndDelivers()
    {
        ConfluentLoader.EnsureLoaded();
        using var cluster = MockCluster.Start(3);
        cluster.CreateTopic("idem", 3);
        cluster.StartRequestTracking();

        await using (var producer = new ProducerBuilder<string, string>(new ProducerOptions { BootstrapServers = cluster.BootstrapServers.Split(',') }).Build())
        {
            var sends = Enumerable.Range(0, 60).Select(i => producer.ProduceAsync(new ProducerRecord<string, string>("idem", $"k{i % 7}", $"v{i}")).AsTask()).ToList();
            await Task.WhenAll(sends);
        }

        var requests = cluster.GetRequests();
        Assert.Single(requests, r => r.ApiKey == (short)KafkaApiKey.InitProducerId);
        Assert.Contains(requests, r => r.ApiKey == (short)KafkaApiKey.Produce);
        Assert.Equal(60, RecordReader.ReadAll(cluster.BootstrapServers, "idem", 60).Count);
    }

    /// <summary>
    /// When the broker rejects the producer's sequence state, the producer bumps its epoch
    /// (InitProducerId again) and resends, instead of failing every later record.
    /// </summary>
    [Theory]
    [InlineData((short)45)] // OUT_OF_ORDER_SEQUENCE_NUMBER
    [InlineData((short)59)] // UNKNOWN_PRODUCER_ID
    [InlineData((short)47)] // INVALID_PRODUCER_EPOCH
    public async Task ABrokenSequenceStateIsRecoveredByANewEpoch(short errorCode)
    {
        ConfluentLoader.EnsureLoaded();
        using var cluster = MockCluster.Start(1);
        cluster.CreateTopic("epoch", 1);
        var options = new ProducerOptions { BootstrapServers = cluster.BootstrapServers.Split(','), RetryBackoff = TimeSpan.FromMilliseconds(20) };
        await using var producer = new ProducerBuilder<Null, string>(options).Build();
        Assert.Equal(0, (await producer.ProduceAsync(new ProducerRecord<Null, string>("epoch", "first"))).Offset);

        cluster.StartRequestTracking();
        cluster.PushRequestErrors(KafkaApiKey.Produce, errorCode);
        var results = new List<DeliveryResult>();
        for (var i = 0; i < 5; i++)
        {
            results.Add(await producer.ProduceAsync(new ProducerRecord<Null, string>("epoch", $"after-{i}")).AsTask().WaitAsync(TimeSpan.FromSeconds(30)));
        }

        Assert.Equal([1L, 2, 3, 4, 5], results.Select(r => r.Offset));
        // The idempotent producer bumps its epoch locally, as Java's does (KIP-360): no InitProducerId.
        Assert.DoesNotContain(cluster.GetRequests(), r => r.ApiKey == (short)KafkaApiKey.InitProducerId);
        var log = RecordReader.ReadPartition(cluster.BootstrapServers, "epoch", 0);
        Assert.Equal(["first", "after-0", "after-1", "after-2", "after-3", "after-4"], log.Select(r => System.Text.Encoding.UTF8.GetString(r.Value!)));
    }
}
