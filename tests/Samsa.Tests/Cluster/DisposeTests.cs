using System.Net;
using System.Net.Sockets;

namespace Samsa.Tests.Cluster;

/// <summary>
/// Disposing the producer ends its metadata waits, instead of leaving them to run out max.block.ms; closing with a
/// timeout bounds the wait for outstanding records by that timeout instead of the builder's.
/// </summary>
public sealed class DisposeTests
{
    [Fact]
    public async Task RecordWaitingForMetadataFailsAsClosedWhenTheProducerIsDisposed()
    {
        var options = new ProducerOptions
        {
            BootstrapServers = [$"127.0.0.1:{ClosedPort()}"],
            EnableIdempotence = false,
            MaxBlock = TimeSpan.FromMinutes(2),
        };
        var producer = new ProducerBuilder<string, string>(options).SetCloseTimeout(TimeSpan.FromMilliseconds(200)).Build();
        var pending = producer.ProduceAsync(new ProducerRecord<string, string>("nowhere", "k", "v")).AsTask();

        await producer.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(20));
        await Assert.ThrowsAsync<ProducerClosedException>(() => pending.WaitAsync(TimeSpan.FromSeconds(20)));
    }

    [Fact]
    public async Task CloseWithZeroTimeoutFailsWhatIsLeftAtOnceWhateverTheCloseTimeout()
    {
        var producer = Unreachable(closeTimeout: TimeSpan.FromMinutes(10));
        var pending = producer.ProduceAsync(new ProducerRecord<string, string>("nowhere", "k", "v")).AsTask();

        // Bounded far below the close timeout: only the zero timeout can end the close in time.
        await producer.CloseAsync(TimeSpan.Zero).AsTask().WaitAsync(TimeSpan.FromSeconds(60));
        var closed = await Assert.ThrowsAsync<ProducerClosedException>(() => pending.WaitAsync(TimeSpan.FromSeconds(20)));
        Assert.Equal(PersistenceStatus.NotPersisted, closed.PersistenceStatus);
    }

    [Fact]
    public async Task CloseAsyncShortensAClose()
    {
        var producer = Unreachable(closeTimeout: TimeSpan.FromMinutes(10));
        var pending = producer.ProduceAsync(new ProducerRecord<string, string>("nowhere", "k", "v")).AsTask();
        var dispose = producer.DisposeAsync().AsTask(); // waits up to the 10 minutes for the record

        Assert.False(dispose.IsCompleted);
        await producer.CloseAsync(TimeSpan.Zero).AsTask().WaitAsync(TimeSpan.FromSeconds(60));
        await dispose.WaitAsync(TimeSpan.FromSeconds(20));
        await Assert.ThrowsAsync<ProducerClosedException>(() => pending.WaitAsync(TimeSpan.FromSeconds(20)));

        // Once closed, closing again is a no-op, not an error.
        await producer.CloseAsync(TimeSpan.FromSeconds(1)).AsTask().WaitAsync(TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task CloseAsyncRefusesANegativeTimeout()
    {
        await using var producer = Unreachable(closeTimeout: TimeSpan.Zero);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await producer.CloseAsync(TimeSpan.FromMilliseconds(-1)));
    }

    private static IProducer<string, string> Unreachable(TimeSpan closeTimeout) =>
        new ProducerBuilder<string, string>(new ProducerOptions
        {
            BootstrapServers = [$"127.0.0.1:{ClosedPort()}"],
            EnableIdempotence = false,
            MaxBlock = TimeSpan.FromMinutes(20),
        }).SetCloseTimeout(closeTimeout).Build();

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
