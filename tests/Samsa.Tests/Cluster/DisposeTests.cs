using System.Net;
using System.Net.Sockets;

namespace Samsa.Tests.Cluster;

/// <summary>Disposing the producer ends its metadata waits, instead of leaving them to run out max.block.ms.</summary>
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

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
