using System.Net;
using System.Net.Sockets;
using System.Text;
using Samsa.IntegrationTests.Infrastructure;

namespace Samsa.IntegrationTests.Producer;

/// <summary>Bootstrap servers are tried in turn; when none answers, produce fails within max.block.ms, naming what it tried.</summary>
[Collection(MockClusterCollectionDefinition.Name)]
public sealed class BootstrapTests(MockClusterFixture fixture)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task DeadFirstEntryIsSkipped()
    {
        var dead = ClosedPort();
        var topic = fixture.CreateTopic(1, "boot-skip");
        var options = new ProducerOptions
        {
            BootstrapServers = [$"127.0.0.1:{dead}", .. fixture.BootstrapServers.Split(',')],
            EnableIdempotence = false,
            Linger = TimeSpan.FromMilliseconds(1),
            MaxBlock = TimeSpan.FromSeconds(15),
        };

        await using (var producer = new ProducerBuilder<string, string>(options).Build())
        {
            for (var i = 0; i < 3; i++)
            {
                var result = await producer.ProduceAsync(new ProducerRecord<string, string>(topic, $"k{i}", $"v{i}")).AsTask().WaitAsync(Bound);
                Assert.Equal(i, result.Offset);
            }
        }

        var read = RecordReader.ReadPartition(fixture.BootstrapServers, topic, 0);
        Assert.Equal(["v0", "v1", "v2"], read.Select(r => Encoding.UTF8.GetString(r.Value!)));
    }

    [Fact]
    public async Task NoReachableBrokerFailsWithinMaxBlockNamingTheAddresses()
    {
        var first = ClosedPort();
        var second = ClosedPort();
        var options = new ProducerOptions
        {
            BootstrapServers = [$"127.0.0.1:{first}", $"127.0.0.1:{second}"],
            EnableIdempotence = false,
            MaxBlock = TimeSpan.FromSeconds(2),
        };

        await using var producer = new ProducerBuilder<string, string>(options).SetCloseTimeout(TimeSpan.FromSeconds(5)).Build();
        var task = producer.ProduceAsync(new ProducerRecord<string, string>("nowhere", "k", "v")).AsTask();
        var error = await Assert.ThrowsAnyAsync<KafkaException>(() => task.WaitAsync(Bound));
        Assert.IsType<KafkaTimeoutException>(error);
        Assert.Contains("max.block.ms", error.Message);
        Assert.Contains($"127.0.0.1:{first}", error.Message);
        Assert.Contains($"127.0.0.1:{second}", error.Message);
        Assert.Equal("nowhere", error.Topic);

        // The callback path reports the same failure instead of waiting forever.
        var reported = new TaskCompletionSource<DeliveryReport>(TaskCreationOptions.RunContinuationsAsynchronously);
        producer.Produce(new ProducerRecord<string, string>("nowhere-either", "k", "v"), r => reported.TrySetResult(r));
        var report = await reported.Task.WaitAsync(Bound);
        Assert.False(report.IsSuccess);
        Assert.IsAssignableFrom<KafkaException>(report.Error);
        Assert.Contains($"127.0.0.1:{first}", report.Error!.Message);
    }

    private static int ClosedPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
