using Samsa.IntegrationTests.Infrastructure;
using Samsa.Testing;

namespace Samsa.IntegrationTests.Producer;

/// <summary>
/// Records that cannot be appended at once (their topic's metadata is unknown, or buffer.memory is
/// full) keep their content as it was at the call, and one caller's records keep call order.
/// </summary>
public sealed class WaitingRecordTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task OneCallerKeepsCallOrderWhileTheBufferIsFull()
    {
        const int count = 3000;
        ConfluentLoader.EnsureLoaded();
        using var cluster = MockCluster.Start(1);
        cluster.CreateTopic("ordered-under-pressure", 1);
        var options = new ProducerOptions
        {
            BootstrapServers = cluster.BootstrapServers.Split(','),
            BufferMemory = 4096, // far less than 3,000 records: most calls wait for space
            BatchSize = 1024,
        };

        await using var producer = new ProducerBuilder<Null, byte[]>(options).Build();
        await producer.ProduceAsync(new ProducerRecord<Null, byte[]>("ordered-under-pressure", BitConverter.GetBytes(-1))).AsTask().WaitAsync(Bound);

        var sends = new List<Task<DeliveryResult>>(count);
        for (var i = 0; i < count; i++)
        {
            sends.Add(producer.ProduceAsync(new ProducerRecord<Null, byte[]>("ordered-under-pressure", BitConverter.GetBytes(i))).AsTask());
        }

        await Task.WhenAll(sends).WaitAsync(Bound);
        var read = RecordReader.ReadPartition(cluster.BootstrapServers, "ordered-under-pressure", 0);
        Assert.Equal(Enumerable.Range(-1, count + 1), read.Select(r => BitConverter.ToInt32(r.Value!)));
    }

    [Fact]
    public async Task ARecordWaitingForMetadataKeepsTheBytesItWasProducedWith()
    {
        ConfluentLoader.EnsureLoaded();
        using var cluster = MockCluster.Start(1);
        cluster.CreateTopic("reused-buffer", 1);
        await using var producer = new ProducerBuilder<Null, byte[]>(new ProducerOptions { BootstrapServers = cluster.BootstrapServers.Split(',') }).Build();

        // The topic is new to the producer, so every record waits for its metadata; the caller
        // reuses one array, as it may once Produce has returned.
        var reused = new byte[1];
        var sends = new List<Task<DeliveryResult>>();
        for (byte i = 0; i < 10; i++)
        {
            reused[0] = i;
            sends.Add(producer.ProduceAsync(new ProducerRecord<Null, byte[]>("reused-buffer", reused)).AsTask());
        }

        await Task.WhenAll(sends).WaitAsync(Bound);
        var read = RecordReader.ReadPartition(cluster.BootstrapServers, "reused-buffer", 0);
        Assert.Equal(Enumerable.Range(0, 10), read.Select(r => (int)r.Value![0]));
    }

    [Fact]
    public async Task ARecordWaitingForBufferSpaceKeepsTheBytesItWasProducedWith()
    {
        ConfluentLoader.EnsureLoaded();
        using var cluster = MockCluster.Start(1);
        cluster.CreateTopic("reused-buffer-full", 1);
        var options = new ProducerOptions
        {
            BootstrapServers = cluster.BootstrapServers.Split(','),
            BufferMemory = 2048,
            Linger = TimeSpan.FromSeconds(60), // nothing frees the buffer until the producer closes
            BatchSize = 1 << 20,
        };

        await using var producer = new ProducerBuilder<Null, byte[]>(options).Build();
        var warmUp = producer.ProduceAsync(new ProducerRecord<Null, byte[]>("reused-buffer-full", new byte[100])).AsTask();
        await producer.FlushAsync().WaitAsync(Bound);
        await warmUp;

        var accepted = 0;
        while (producer.TryProduce(new ProducerRecord<Null, byte[]>("reused-buffer-full", new byte[100])))
        {
            Assert.True(++accepted < 100, "the buffer never filled");
        }

        var reused = new byte[100];
        var sends = new List<Task<DeliveryResult>>();
        for (byte i = 0; i < 5; i++)
        {
            reused[0] = i;
            var send = producer.ProduceAsync(new ProducerRecord<Null, byte[]>("reused-buffer-full", reused)).AsTask();
            Assert.False(send.IsCompleted);
            sends.Add(send);
        }

        // The first flush sends the accepted records, which frees the space the waiting ones need;
        // the second sends those.
        await producer.FlushAsync().WaitAsync(Bound);
        await producer.FlushAsync().WaitAsync(Bound);
        await Task.WhenAll(sends).WaitAsync(Bound);
        var read = RecordReader.ReadPartition(cluster.BootstrapServers, "reused-buffer-full", 0);
        Assert.Equal([0, 1, 2, 3, 4], read.TakeLast(5).Select(r => (int)r.Value![0]));
    }
}
