using Samsa.IntegrationTests.Infrastructure;
using Samsa.Testing;

namespace Samsa.IntegrationTests.Producer;

/// <summary>buffer.memory bounds what the producer holds; delivery.timeout.ms bounds how long a record waits.</summary>
public sealed class BackPressureTests
{
    [Fact]
    public async Task ATinyBufferStillDeliversEverythingInOrder()
    {
        ConfluentLoader.EnsureLoaded();
        using var cluster = MockCluster.Start(1);
        cluster.CreateTopic("small-buffer", 1);
        var options = new ProducerOptions
        {
            BootstrapServers = cluster.BootstrapServers.Split(','),
            BufferMemory = 4096, // room for a few dozen 100-byte records at a time
            BatchSize = 1024,
        };

        var reports = new List<DeliveryReport>();
        await using (var producer = new ProducerBuilder<Null, byte[]>(options).Build())
        {
            for (var i = 0; i < 400; i++)
            {
                // Blocks while the buffer is full: the loop cannot outrun the broker.
                producer.Produce(new ProducerRecord<Null, byte[]>("small-buffer", BitConverter.GetBytes(i)), r =>
                {
                    lock (reports)
                    {
                        reports.Add(r);
                    }
                });
            }

            await producer.FlushAsync();
        }

        Assert.Equal(400, reports.Count);
        Assert.All(reports, r => Assert.True(r.IsSuccess, r.Error?.Message));
        var read = RecordReader.ReadPartition(cluster.BootstrapServers, "small-buffer", 0);
        Assert.Equal(Enumerable.Range(0, 400), read.Select(r => BitConverter.ToInt32(r.Value!)));
    }

    [Fact]
    public async Task WhenTheBufferStaysFullTryProduceRefusesAndProduceAsyncTimesOut()
    {
        ConfluentLoader.EnsureLoaded();
        using var cluster = MockCluster.Start(1);
        cluster.CreateTopic("full-buffer", 1);
        var options = new ProducerOptions
        {
            BootstrapServers = cluster.BootstrapServers.Split(','),
            BufferMemory = 2048,
            MaxBlock = TimeSpan.FromSeconds(2), // bounds both the metadata wait and the wait for buffer space
            Linger = TimeSpan.FromSeconds(60), // nothing is sent, so nothing frees the buffer
            BatchSize = 1 << 20,
        };

        await using var producer = new ProducerBuilder<Null, byte[]>(options).Build();
        var first = producer.ProduceAsync(new ProducerRecord<Null, byte[]>("full-buffer", new byte[100])).AsTask();

        // Send it, so that the topic's metadata is known and the buffer is empty again.
        await producer.FlushAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True((await first).Offset >= 0);

        // Fill the buffer without blocking.
        var accepted = 0;
        while (producer.TryProduce(new ProducerRecord<Null, byte[]>("full-buffer", new byte[100])))
        {
            Assert.True(++accepted < 100, "TryProduce never reported a full buffer.");
        }

        Assert.True(accepted > 0);
        var error = await Assert.ThrowsAsync<BufferFullException>(() => producer.ProduceAsync(new ProducerRecord<Null, byte[]>("full-buffer", new byte[100])).AsTask());
        Assert.Contains("buffer.memory", error.Message, StringComparison.Ordinal);
        Assert.True(error.IsRetriable);

        // A blocking Produce waits as long, then reports the same failure to its handler.
        KafkaException? blockedError = null;
        await Task.Run(() => producer.Produce(new ProducerRecord<Null, byte[]>("full-buffer", new byte[100]), r => blockedError = r.Error));
        Assert.IsType<BufferFullException>(blockedError);

        // A blocked Produce goes on once a flush frees the memory, and its record is delivered.
        var blocked = Task.Run(() => producer.Produce(new ProducerRecord<Null, byte[]>("full-buffer", new byte[100])));
        await producer.FlushAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await blocked.WaitAsync(TimeSpan.FromSeconds(30));
        await producer.FlushAsync().WaitAsync(TimeSpan.FromSeconds(30));

        // The records already accepted are not lost by the refusals.
        Assert.Equal(accepted + 2, RecordReader.ReadPartition(cluster.BootstrapServers, "full-buffer", 0).Count);
    }

    [Fact]
    public async Task RecordsForAPartitionWhoseLeaderIsDownExpireAfterDeliveryTimeout()
    {
        ConfluentLoader.EnsureLoaded();
        using var cluster = MockCluster.Start(2);
        cluster.CreateTopic("expiring", 2);
        cluster.SetPartitionLeader("expiring", 0, 1);
        cluster.SetPartitionLeader("expiring", 1, 2);
        var options = new ProducerOptions
        {
            BootstrapServers = cluster.BootstrapServers.Split(','),
            RequestTimeout = TimeSpan.FromSeconds(1),
            DeliveryTimeout = TimeSpan.FromSeconds(2),
            Linger = TimeSpan.Zero,
            EnableIdempotence = false,
            ReconnectBackoffMax = TimeSpan.FromMilliseconds(200),
        };

        await using var producer = new ProducerBuilder<Null, string>(options).Build();
        Assert.True((await producer.ProduceAsync(new ProducerRecord<Null, string>("expiring", 0, null, "warm-up"))).Offset >= 0);

        cluster.SetBrokerDown(1);
        var doomed = producer.ProduceAsync(new ProducerRecord<Null, string>("expiring", 0, null, "to the dead broker")).AsTask();
        var fine = await producer.ProduceAsync(new ProducerRecord<Null, string>("expiring", 1, null, "to the live broker")).AsTask().WaitAsync(TimeSpan.FromSeconds(30));

        // A broker that is down does not stall partitions led by others.
        Assert.Equal(1, fine.Partition);
        var error = await Assert.ThrowsAnyAsync<KafkaException>(() => doomed.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.True(error is KafkaTimeoutException, $"Expected a timeout, got {error.GetType().Name}: {error.Message}");
        Assert.Contains("delivery.timeout.ms", error.Message, StringComparison.Ordinal);
    }
}
