using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using static Samsa.Extensions.Hosting.Tests.HostHelpers;

namespace Samsa.Extensions.Hosting.Tests;

/// <summary>
/// A producer whose flush does not finish within the host's shutdown timeout is closed during the stop itself with no
/// time left (its records fail at once, whatever its CloseTimeout), and the stop waits for that close only so long.
/// </summary>
public sealed class ShutdownTests
{
    // Far longer than any wait below: a stop that waited for it would fail the test's bounds.
    private static readonly TimeSpan LongCloseTimeout = TimeSpan.FromMinutes(10);

    // Far below LongCloseTimeout, far above what a stop with no time left takes.
    private static readonly TimeSpan StopBound = TimeSpan.FromSeconds(60);

    // Nothing listens on port 1: a record waits for its topic's metadata until the producer closes.
    private static (IHost Host, IProducer<string, string> Producer) Start()
    {
        var builder = Builder(ProducerJson(("bootstrap.servers", "127.0.0.1:1"), ("max.block.ms", "1200000"), ("delivery.timeout.ms", "1200000")));
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromMilliseconds(200));
        builder.Services.AddSamsaProducer<string, string>(builder.Configuration.GetSection("Kafka:Producer"))
            .Configure(o => o.CloseTimeout = LongCloseTimeout);
        var host = builder.Build();
        return (host, host.Services.GetRequiredService<IProducer<string, string>>());
    }

    [Fact]
    public async Task AFlushThatTimesOutIsFollowedByACloseWithNoTimeLeftBeforeTheStopReturns()
    {
        var (host, producer) = Start();
        using var _ = host;
        await host.StartAsync();
        KafkaException? error = null;
        producer.Produce(new ProducerRecord<string, string>("nowhere", "k", "v"), report => error = report.Error);

        // Not CloseTimeout (10 minutes) more: the stop ends with the host's shutdown timeout.
        await host.StopAsync().WaitAsync(StopBound);

        // Failed by the close that the stop started and waited for, not later by the container.
        var closed = Assert.IsType<ProducerClosedException>(Volatile.Read(ref error));
        Assert.Equal(PersistenceStatus.NotPersisted, closed.PersistenceStatus);
        Assert.Equal(ErrorCode.LocalProducerClosed, closed.ErrorCode);
    }

    [Fact]
    public async Task TheStopWaitsForTheCloseOnlySoLongWhenAHandlerBlocks()
    {
        var (host, producer) = Start();
        await host.StartAsync();
        using var release = new ManualResetEventSlim();
        var called = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        producer.Produce(new ProducerRecord<string, string>("nowhere", "k", "v"), _ =>
        {
            called.TrySetResult();
            release.Wait(); // holds the producer's close until the test lets go
        });

        try
        {
            // Bounded by the grace period after the shutdown timeout; without the bound this would never return.
            await host.StopAsync().WaitAsync(StopBound);
            await called.Task.WaitAsync(Bound);
        }
        finally
        {
            release.Set();
        }

        await Task.Run(host.Dispose).WaitAsync(Bound);
    }
}
