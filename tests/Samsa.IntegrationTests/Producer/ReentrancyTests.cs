using Samsa.IntegrationTests.Infrastructure;
using Samsa.Testing;

namespace Samsa.IntegrationTests.Producer;

/// <summary>
/// Delivery handlers run on the producer's reporting loop. What they call there must never wait
/// for that loop: it could only wait for itself.
/// </summary>
public sealed class ReentrancyTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task ABlockingProduceFromAHandlerFailsAtOnceWhenTheBufferIsFull()
    {
        ConfluentLoader.EnsureLoaded();
        using var cluster = MockCluster.Start(1);
        cluster.CreateTopic("reentrant-full", 1);
        var options = new ProducerOptions
        {
            BootstrapServers = cluster.BootstrapServers.Split(','),
            BufferMemory = 2048,
            MaxBlock = TimeSpan.FromSeconds(60),
        };
        await using var producer = new ProducerBuilder<Null, byte[]>(options).Build();
        await producer.ProduceAsync(new ProducerRecord<Null, byte[]>("reentrant-full", new byte[10])).AsTask().WaitAsync(Bound);

        var outcome = new TaskCompletionSource<DeliveryReport>(TaskCreationOptions.RunContinuationsAsynchronously);
        producer.Produce(new ProducerRecord<Null, byte[]>("reentrant-full", new byte[10]), _ =>
        {
            // Only the reporting loop frees buffer space, and it is busy running this handler.
            var accepted = 0;
            while (producer.TryProduce(new ProducerRecord<Null, byte[]>("reentrant-full", new byte[100])))
            {
                if (++accepted > 100)
                {
                    outcome.TrySetException(new InvalidOperationException("the buffer never filled"));
                    return;
                }
            }

            producer.Produce(new ProducerRecord<Null, byte[]>("reentrant-full", new byte[100]), r => outcome.TrySetResult(r));
        });

        var report = await outcome.Task.WaitAsync(Bound);
        var error = Assert.IsType<BufferFullException>(report.Error);
        Assert.Contains("delivery handler", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FlushFromAHandlerThrowsAndFlushAsyncDoesNotWaitForItself()
    {
        ConfluentLoader.EnsureLoaded();
        using var cluster = MockCluster.Start(1);
        cluster.CreateTopic("reentrant-flush", 1);
        await using var producer = new ProducerBuilder<Null, string>(new ProducerOptions { BootstrapServers = cluster.BootstrapServers.Split(',') }).Build();

        Exception? flushError = null;
        Task? asyncFlush = null;
        var handled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        producer.Produce(new ProducerRecord<Null, string>("reentrant-flush", "a"), _ =>
        {
            try
            {
                producer.Flush(TimeSpan.FromSeconds(5));
            }
            catch (Exception e)
            {
                flushError = e;
            }

            asyncFlush = producer.FlushAsync();
            handled.TrySetResult();
        });

        await handled.Task.WaitAsync(Bound);
        var error = Assert.IsType<InvalidOperationException>(flushError);
        Assert.Contains("delivery handler", error.Message, StringComparison.Ordinal);
        await asyncFlush!.WaitAsync(Bound);
    }

    [Fact]
    public async Task DisposeFromAHandlerStartsTheCloseWithoutBlockingTheLoop()
    {
        ConfluentLoader.EnsureLoaded();
        using var cluster = MockCluster.Start(1);
        cluster.CreateTopic("reentrant-dispose", 1);
        var producer = new ProducerBuilder<Null, string>(new ProducerOptions { BootstrapServers = cluster.BootstrapServers.Split(',') }).Build();

        var handlerReturned = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        producer.Produce(new ProducerRecord<Null, string>("reentrant-dispose", "a"), _ =>
        {
            producer.Dispose();
            handlerReturned.TrySetResult();
        });
        var behind = producer.ProduceAsync(new ProducerRecord<Null, string>("reentrant-dispose", "b")).AsTask();

        await handlerReturned.Task.WaitAsync(Bound);

        // The close goes on in the background; the record behind the handler still has its outcome.
        await producer.DisposeAsync().AsTask().WaitAsync(Bound);
        Assert.True((await behind.WaitAsync(Bound)).Offset >= 0);
        await Assert.ThrowsAsync<ProducerClosedException>(() => producer.ProduceAsync(new ProducerRecord<Null, string>("reentrant-dispose", "c")).AsTask());
    }
}
