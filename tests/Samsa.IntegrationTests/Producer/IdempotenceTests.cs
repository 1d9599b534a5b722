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
}
