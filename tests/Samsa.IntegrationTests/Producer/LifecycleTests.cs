using Microsoft.Extensions.Logging;
using Samsa.IntegrationTests.Infrastructure;
using Samsa.Testing;

namespace Samsa.IntegrationTests.Producer;

/// <summary>Fatal errors, cancellation and throwing delivery handlers.</summary>
public sealed class LifecycleTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task ARefusedProducerIdIsFatalAndEveryLaterCallSaysSo()
    {
        ConfluentLoader.EnsureLoaded();
        using var cluster = MockCluster.Start(1);
        cluster.CreateTopic("fatal", 1);
        cluster.PushRequestErrors(KafkaApiKey.InitProducerId, 31); // CLUSTER_AUTHORIZATION_FAILED
        await using var producer = new ProducerBuilder<Null, string>(new ProducerOptions { BootstrapServers = cluster.BootstrapServers.Split(',') }).Build();

        var first = await Assert.ThrowsAsync<ProducerFatalException>(() => producer.ProduceAsync(new ProducerRecord<Null, string>("fatal", "a")).AsTask().WaitAsync(Bound));
        Assert.True(first.IsFatal);
        Assert.Equal(ErrorCode.ClusterAuthorizationFailed, first.ErrorCode);
        Assert.Contains("CLUSTER_AUTHORIZATION_FAILED", first.Message, StringComparison.Ordinal);

        // The failed state is permanent and reported at once, on both paths.
        var later = await Assert.ThrowsAsync<ProducerFatalException>(() => producer.ProduceAsync(new ProducerRecord<Null, string>("fatal", "b")).AsTask().WaitAsync(Bound));
        Assert.Same(first, later);
        DeliveryReport? report = null;
        producer.Produce(new ProducerRecord<Null, string>("fatal", "c"), r => report = r);
        Assert.Same(first, report?.Error);
    }

    [Fact]
    public async Task AnAlreadyCancelledTokenWithdrawsTheRecord()
    {
        ConfluentLoader.EnsureLoaded();
        using var cluster = MockCluster.Start(1);
        cluster.CreateTopic("cancel", 1);
        await using var producer = new ProducerBuilder<Null, string>(new ProducerOptions { BootstrapServers = cluster.BootstrapServers.Split(',') }).Build();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => producer.ProduceAsync(new ProducerRecord<Null, string>("cancel", "withdrawn"), new CancellationToken(canceled: true)).AsTask());
        await producer.ProduceAsync(new ProducerRecord<Null, string>("cancel", "kept"));
        Assert.Equal(["kept"], RecordReader.ReadPartition(cluster.BootstrapServers, "cancel", 0).Select(r => System.Text.Encoding.UTF8.GetString(r.Value!)));
    }

    [Fact]
    public async Task CancellingWhileWaitingForBufferSpaceWithdrawsTheRecordButNotTheAcceptedOnes()
    {
        ConfluentLoader.EnsureLoaded();
        using var cluster = MockCluster.Start(1);
        cluster.CreateTopic("cancel-wait", 1);
        var options = new ProducerOptions
        {
            BootstrapServers = cluster.BootstrapServers.Split(','),
            BufferMemory = 1024,
            Linger = TimeSpan.FromSeconds(60), // nothing is sent until the flush, so the buffer stays full
            BatchSize = 1 << 20,
            MaxBlock = TimeSpan.FromSeconds(30),
        };
        await using var producer = new ProducerBuilder<Null, byte[]>(options).Build();
        var warmUp = producer.ProduceAsync(new ProducerRecord<Null, byte[]>("cancel-wait", new byte[10])).AsTask();
        await producer.FlushAsync().WaitAsync(Bound);
        await warmUp;

        var accepted = 0;
        while (producer.TryProduce(new ProducerRecord<Null, byte[]>("cancel-wait", new byte[100])))
        {
            Assert.True(++accepted < 50, "the buffer never filled");
        }

        using var cancel = new CancellationTokenSource();
        var waiting = producer.ProduceAsync(new ProducerRecord<Null, byte[]>("cancel-wait", new byte[100]), cancel.Token).AsTask();
        Assert.False(waiting.IsCompleted);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.WaitAsync(Bound));

        // Accepted records are still delivered; the withdrawn one never reaches the log.
        await producer.FlushAsync().WaitAsync(Bound);
        Assert.Equal(1 + accepted, RecordReader.ReadPartition(cluster.BootstrapServers, "cancel-wait", 0).Count);
    }

    [Fact]
    public async Task AThrowingHandlerIsLoggedAndTheRecordsBehindItAreStillReported()
    {
        ConfluentLoader.EnsureLoaded();
        using var cluster = MockCluster.Start(1);
        cluster.CreateTopic("handlers", 1);
        var logger = new RecordingLogger();
        var reported = 0;
        await using (var producer = new ProducerBuilder<Null, string>(new ProducerOptions { BootstrapServers = cluster.BootstrapServers.Split(',') }).SetLogger(logger).Build())
        {
            for (var i = 0; i < 20; i++)
            {
                var index = i;
                producer.Produce(new ProducerRecord<Null, string>("handlers", $"v{i}"), _ =>
                {
                    Interlocked.Increment(ref reported);
                    if (index % 5 == 0)
                    {
                        throw new InvalidOperationException($"handler {index} failed");
                    }
                });
            }

            await producer.FlushAsync().WaitAsync(Bound);
        }

        Assert.Equal(20, reported);
        // Four handlers threw within a moment: the first is logged, the others are held back by the rate limit
        // (counted in the next entry), so a handler that throws for every record cannot flood the log.
        Assert.Equal(1, logger.Errors.Count(e => e.Exception is InvalidOperationException));
        Assert.Equal(20, RecordReader.ReadPartition(cluster.BootstrapServers, "handlers", 0).Count);
    }

    [Fact]
    public async Task CancellingAfterTheRecordWasAcceptedEndsTheWaitButTheRecordStillGoesOut()
    {
        ConfluentLoader.EnsureLoaded();
        using var cluster = MockCluster.Start(1);
        cluster.CreateTopic("cancel-accepted", 1);
        var options = new ProducerOptions
        {
            BootstrapServers = cluster.BootstrapServers.Split(','),
            Linger = TimeSpan.FromSeconds(60), // the record waits in its batch until the flush
            BatchSize = 1 << 20,
        };
        await using var producer = new ProducerBuilder<Null, string>(options).Build();
        var warmUp = producer.ProduceAsync(new ProducerRecord<Null, string>("cancel-accepted", "warm-up")).AsTask();
        await producer.FlushAsync().WaitAsync(Bound);
        await warmUp;

        using var cancel = new CancellationTokenSource();
        var waiting = producer.ProduceAsync(new ProducerRecord<Null, string>("cancel-accepted", "kept"), cancel.Token).AsTask();
        Assert.False(waiting.IsCompleted);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.WaitAsync(TimeSpan.FromSeconds(10)));

        // The caller stopped waiting; the record did not stop going out.
        await producer.FlushAsync().WaitAsync(Bound);
        Assert.Equal(["warm-up", "kept"], RecordReader.ReadPartition(cluster.BootstrapServers, "cancel-accepted", 0).Select(r => System.Text.Encoding.UTF8.GetString(r.Value!)));

        // Promises given back to the pool after an abandoned wait still serve later calls.
        for (var i = 0; i < 3; i++)
        {
            var later = producer.ProduceAsync(new ProducerRecord<Null, string>("cancel-accepted", $"later-{i}"));
            await producer.FlushAsync().WaitAsync(Bound);
            Assert.Equal(2 + i, (await later).Offset);
        }
    }

    [Fact]
    public async Task ARecordThatFailsAfterItsCallerStoppedWaitingIsLogged()
    {
        ConfluentLoader.EnsureLoaded();
        using var cluster = MockCluster.Start(1);
        cluster.CreateTopic("cancel-then-fail", 1);
        var options = new ProducerOptions
        {
            BootstrapServers = cluster.BootstrapServers.Split(','),
            RequestTimeout = TimeSpan.FromSeconds(1),
            DeliveryTimeout = TimeSpan.FromSeconds(2),
            Linger = TimeSpan.Zero,
            EnableIdempotence = false,
            ReconnectBackoffMax = TimeSpan.FromMilliseconds(200),
        };
        var logger = new RecordingLogger();
        await using var producer = new ProducerBuilder<Null, string>(options).SetLogger(logger).Build();
        Assert.True((await producer.ProduceAsync(new ProducerRecord<Null, string>("cancel-then-fail", "warm-up")).AsTask().WaitAsync(Bound)).Offset >= 0);

        cluster.SetBrokerDown(1);
        using var cancel = new CancellationTokenSource();
        var waiting = producer.ProduceAsync(new ProducerRecord<Null, string>("cancel-then-fail", "doomed"), cancel.Token).AsTask();
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.WaitAsync(TimeSpan.FromSeconds(10)));

        // delivery.timeout.ms fails the record later; the log is the only one left to tell.
        var (eventId, exception) = await logger.FirstAbandoned.Task.WaitAsync(Bound);
        Assert.Equal(SamsaLogEvents.AbandonedRecordFailed, eventId.Id);
        Assert.Equal(1007, eventId.Id); // a published id never changes
        Assert.IsType<KafkaTimeoutException>(exception);
    }

    [Fact]
    public async Task AHandlerThatThrowsForARecordWaitingForMetadataDoesNotWedgeItsTopic()
    {
        ConfluentLoader.EnsureLoaded();
        using var cluster = MockCluster.Start(1);
        cluster.CreateTopic("wedge", 1);
        var logger = new RecordingLogger();
        await using var producer = new ProducerBuilder<Null, string>(new ProducerOptions { BootstrapServers = cluster.BootstrapServers.Split(',') })
            .SetLogger(logger)
            .SetCloseTimeout(TimeSpan.FromSeconds(2))
            .Build();

        // The topic is new, so the record waits for metadata; partition 5 does not exist, which is
        // only found out when it is appended, and then its handler throws.
        producer.Produce(new ProducerRecord<Null, string>("wedge", 5, null, "bad partition"), _ => throw new InvalidOperationException("handler failed"));
        var good = await producer.ProduceAsync(new ProducerRecord<Null, string>("wedge", "good")).AsTask().WaitAsync(Bound);

        Assert.Equal(0, good.Offset);
        await producer.FlushAsync().WaitAsync(Bound);
        Assert.Single(logger.Errors, e => e.Exception is InvalidOperationException);
    }

    private sealed class RecordingLogger : ILogger
    {
        public List<(LogLevel Level, Exception? Exception)> Errors { get; } = [];

        // The first failure of an abandoned record (other warnings, such as the broker being unreachable, come too).
        public TaskCompletionSource<(EventId EventId, Exception? Exception)> FirstAbandoned { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel == LogLevel.Warning && eventId.Id == SamsaLogEvents.AbandonedRecordFailed)
            {
                FirstAbandoned.TrySetResult((eventId, exception));
            }

            if (logLevel >= LogLevel.Error)
            {
                lock (Errors)
                {
                    Errors.Add((logLevel, exception));
                }
            }
        }
    }
}
