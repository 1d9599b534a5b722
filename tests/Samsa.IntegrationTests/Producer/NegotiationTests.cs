using System.Text;
using Samsa.IntegrationTests.Infrastructure;
using Samsa.Testing;

namespace Samsa.IntegrationTests.Producer;

/// <summary>
/// API version negotiation against a broker that advertises fewer versions. Each test limits
/// versions cluster-wide, so each starts its own mock cluster.
/// </summary>
public sealed class NegotiationTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    public NegotiationTests() => ConfluentLoader.EnsureLoaded();

    [Fact]
    public async Task OlderProduceVersionsStillDeliverIntactRecords()
    {
        using var cluster = MockCluster.Start(1);
        cluster.SetApiVersion(KafkaApiKey.Produce, 3, 7);
        await ProduceAndReadBack(cluster, CompressionType.Gzip);
    }

    [Fact]
    public async Task OlderMetadataVersionsStillWork()
    {
        using var cluster = MockCluster.Start(1);
        cluster.SetApiVersion(KafkaApiKey.Metadata, 1, 4);
        await ProduceAndReadBack(cluster, CompressionType.None);
    }

    [Fact]
    public async Task ProduceWithoutRecordBatchV2FailsWithUnsupportedVersion()
    {
        using var cluster = MockCluster.Start(1);
        cluster.CreateTopic("old-produce", 1);
        cluster.SetApiVersion(KafkaApiKey.Produce, 0, 2);
        await using var producer = new ProducerBuilder<string, string>(Options(cluster)).SetCloseTimeout(TimeSpan.FromSeconds(5)).Build();

        var task = producer.ProduceAsync(new ProducerRecord<string, string>("old-produce", "k", "v")).AsTask();
        var error = await Assert.ThrowsAsync<KafkaException>(() => task.WaitAsync(Bound));
        Assert.Equal(ErrorCode.UnsupportedVersion, error.ErrorCode);
        Assert.Contains("Produce", error.Message);
        Assert.Contains("v0-v2", error.Message);
        Assert.False(error.IsRetriable);

        // A second record fails the same way, also without hanging.
        var again = producer.ProduceAsync(new ProducerRecord<string, string>("old-produce", "k2", "v2")).AsTask();
        var second = await Assert.ThrowsAsync<KafkaException>(() => again.WaitAsync(Bound));
        Assert.Equal(ErrorCode.UnsupportedVersion, second.ErrorCode);
    }

    private static ProducerOptions Options(MockCluster cluster, CompressionType compression = CompressionType.None) => new()
    {
        BootstrapServers = cluster.BootstrapServers.Split(','),
        EnableIdempotence = false,
        Linger = TimeSpan.FromMilliseconds(2),
        CompressionType = compression,
        MaxBlock = TimeSpan.FromSeconds(10),
    };

    private static async Task ProduceAndReadBack(MockCluster cluster, CompressionType compression)
    {
        const int count = 30;
        const string topic = "negotiated";
        cluster.CreateTopic(topic, 2);
        var sent = Enumerable.Range(0, count)
            .Select(i => new ProducerRecord<string, string>(topic, i % 2, $"k{i}", $"value {i}") { Headers = new Headers().Add("h", $"{i}") })
            .ToList();
        await using (var producer = new ProducerBuilder<string, string>(Options(cluster, compression)).Build())
        {
            var results = await Task.WhenAll(sent.Select(r => producer.ProduceAsync(r).AsTask())).WaitAsync(Bound);
            for (var i = 0; i < count; i++)
            {
                Assert.Equal(i % 2, results[i].Partition);
                Assert.Equal(i / 2, results[i].Offset);
            }
        }

        for (var partition = 0; partition < 2; partition++)
        {
            var read = RecordReader.ReadPartition(cluster.BootstrapServers, topic, partition);
            var expected = sent.Where(r => r.Partition == partition).ToList();
            Assert.Equal(expected.Count, read.Count);
            for (var j = 0; j < expected.Count; j++)
            {
                Assert.Equal(expected[j].Key, Encoding.UTF8.GetString(read[j].Key!));
                Assert.Equal(expected[j].Value, Encoding.UTF8.GetString(read[j].Value!));
                var header = Assert.Single(read[j].Headers);
                Assert.Equal("h", header.Key);
                Assert.Equal(expected[j].Headers![0].Value, header.Value);
            }
        }
    }
}
