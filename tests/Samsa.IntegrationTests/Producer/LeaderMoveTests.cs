using System.Text;
using Samsa.IntegrationTests.Infrastructure;
using Samsa.Testing;

namespace Samsa.IntegrationTests.Producer;

/// <summary>A partition that moves to another leader keeps flowing through its new leader's sender.</summary>
public sealed class LeaderMoveTests
{
    public LeaderMoveTests() => ConfluentLoader.EnsureLoaded();

    /// <summary>
    /// The old leader takes a batch that was in flight when the partition moved. Its answer must wake
    /// the partition's new sender, which holds the next record until then; waking only the sender that
    /// got the answer left that record waiting until delivery.timeout.ms on a healthy cluster.
    /// </summary>
    [Fact]
    public async Task ARecordProducedWhileTheOldLeaderStillAnswersIsSentByTheNewOne()
    {
        const string topic = "moving";
        using var cluster = MockCluster.Start(2);
        cluster.CreateTopic(topic, 1);
        cluster.SetPartitionLeader(topic, 0, 1);
        var options = new ProducerOptions
        {
            BootstrapServers = cluster.BootstrapServers.Split(','),
            Linger = TimeSpan.Zero,
            MetadataMaxAge = TimeSpan.FromMilliseconds(50),
            RequestTimeout = TimeSpan.FromSeconds(10),
            DeliveryTimeout = TimeSpan.FromSeconds(20),
        };
        await using var producer = new ProducerBuilder<Null, string>(options).Build();
        Assert.Equal(0, (await producer.ProduceAsync(new ProducerRecord<Null, string>(topic, "warm-up"))).Offset);

        // The old leader answers slowly, so the move happens while "first" is in flight to it.
        cluster.SetBrokerRoundTripTime(1, TimeSpan.FromMilliseconds(1500));
        var first = producer.ProduceAsync(new ProducerRecord<Null, string>(topic, "first")).AsTask();
        await Task.Delay(200);
        cluster.SetPartitionLeader(topic, 0, 2);
        await Task.Delay(100); // metadata is stale now: the next call refreshes it and moves the partition
        var second = producer.ProduceAsync(new ProducerRecord<Null, string>(topic, "second")).AsTask();

        await first.WaitAsync(TimeSpan.FromSeconds(15));
        var stored = await second.WaitAsync(TimeSpan.FromSeconds(15)); // was a KafkaTimeoutException at 20 s
        Assert.Equal(0, stored.Partition);
        var log = RecordReader.ReadPartition(cluster.BootstrapServers, topic, 0);
        Assert.Equal(["warm-up", "first", "second"], log.Select(r => Encoding.UTF8.GetString(r.Value!)));
    }
}
