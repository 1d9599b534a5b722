namespace Samsa.Tests.Producer;

/// <summary>
/// A producer whose cluster cannot be reached: records wait for their topic's metadata, which
/// never arrives. Nothing here needs a broker.
/// </summary>
public sealed class UnreachableClusterTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    // Nothing listens on port 1, so every connection is refused.
    private static ProducerOptions Unreachable() => new()
    {
        BootstrapServers = ["127.0.0.1:1"],
        MaxBlock = TimeSpan.FromSeconds(60),
    };

    [Fact]
    public async Task RecordsWaitingForMetadataCountAgainstBufferMemory()
    {
        await using var producer = new ProducerBuilder<Null, byte[]>(Unreachable() with { BufferMemory = 1024 })
            .SetCloseTimeout(TimeSpan.FromMilliseconds(100))
            .Build();

        var accepted = 0;
        while (producer.TryProduce(new ProducerRecord<Null, byte[]>("never-resolved", new byte[100])))
        {
            Assert.True(++accepted < 100, "records waiting for metadata are accepted past buffer.memory");
        }

        Assert.InRange(accepted, 1, 10);

        // ProduceAsync waits for space instead of being accepted past the limit.
        var waiting = producer.ProduceAsync(new ProducerRecord<Null, byte[]>("never-resolved", new byte[100]));
        Assert.False(waiting.IsCompleted);
    }

    [Fact]
    public async Task DisposeFailsRecordsStillWaitingForMetadataAtOnce()
    {
        var producer = new ProducerBuilder<Null, string>(Unreachable())
            .SetCloseTimeout(TimeSpan.FromMilliseconds(200))
            .Build();
        var waiting = producer.ProduceAsync(new ProducerRecord<Null, string>("never-resolved", "v"));
        var tombstone = producer.ProduceAsync(new ProducerRecord<Null, string>("never-resolved", null!)); // no bytes at all to keep
        DeliveryReport? report = null;
        producer.Produce(new ProducerRecord<Null, string>("never-resolved", "w"), r => report = r);

        await producer.DisposeAsync().AsTask().WaitAsync(Bound);

        // Every record has its outcome when DisposeAsync returns; max.block.ms (60 s) is not waited for.
        Assert.True(waiting.IsCompleted);
        await Assert.ThrowsAsync<ProducerClosedException>(() => waiting.AsTask());
        await Assert.ThrowsAsync<ProducerClosedException>(() => tombstone.AsTask());
        Assert.IsType<ProducerClosedException>(report?.Error);
    }

    [Fact]
    public async Task DisposeFailsRecordsStillWaitingForBufferSpace()
    {
        var producer = new ProducerBuilder<Null, byte[]>(Unreachable() with { BufferMemory = 1024 })
            .SetCloseTimeout(TimeSpan.FromMilliseconds(200))
            .Build();
        var accepted = 0;
        while (producer.TryProduce(new ProducerRecord<Null, byte[]>("never-resolved", new byte[100])))
        {
            Assert.True(++accepted < 100, "records waiting for metadata are accepted past buffer.memory");
        }

        var waiting = producer.ProduceAsync(new ProducerRecord<Null, byte[]>("never-resolved", new byte[100]));
        Assert.False(waiting.IsCompleted);

        await producer.DisposeAsync().AsTask().WaitAsync(Bound);

        Assert.True(waiting.IsCompleted);
        await Assert.ThrowsAsync<ProducerClosedException>(() => waiting.AsTask());
    }
}
