using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Samsa.IntegrationTests.Infrastructure;
using Samsa.Testing;

namespace Samsa.IntegrationTests.Producer;

/// <summary>What the producer logs, by event id, level and category (see <see cref="SamsaLogEvents"/>).</summary>
public sealed class LoggingTests
{
    // Bounds on waits for something to happen; never asserted as durations.
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task AnUnreachableBrokerIsAWarningWithinSecondsAndOncePerBrokerInItsWindow()
    {
        var dead = new[] { $"127.0.0.1:{FreePort()}", $"127.0.0.1:{FreePort()}" };
        var log = new ListLoggerFactory();
        var options = new ProducerOptions { BootstrapServers = dead, MaxBlock = TimeSpan.FromSeconds(60), ReconnectBackoffMax = TimeSpan.FromMilliseconds(200) };
        await using var producer = new ProducerBuilder<string, string>(options).SetLoggerFactory(log).SetCloseTimeout(TimeSpan.Zero).Build();
        producer.Produce(new ProducerRecord<string, string>("nowhere", "k", "v"));

        // Both addresses show up, long before max.block.ms (60 s) would end the record.
        await WaitUntil(() => dead.All(a => Unreachable(log, a).Count > 0));
        var first = Unreachable(log, dead[0]).First();
        Assert.Equal(LogLevel.Warning, first.Level);
        Assert.Equal("Samsa.Network", first.Category);
        Assert.Contains("refused", first.Message, StringComparison.OrdinalIgnoreCase);

        // Many more attempts fail (the backoff is capped at 200 ms), but each broker is logged once in the 30 s window.
        // Three seconds hold a dozen attempts or so per address; a limiter that let them through would show here.
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.All(dead, a => Assert.Single(Unreachable(log, a)));

        // The metadata refresh that cannot reach anyone is logged too, once in its window.
        var metadata = Assert.Single(log.Entries, e => e.EventId == SamsaLogEvents.MetadataRefreshFailed);
        Assert.Equal(LogLevel.Warning, metadata.Level);
        Assert.Equal("Samsa.Metadata", metadata.Category);

        // Closing with nothing delivered: the flush times out at once (close timeout 0), the record fails, and since
        // it has no delivery handler the log tells of it. (Disposing again at the end of the test is a no-op.)
        await producer.DisposeAsync();
        var timedOut = Assert.Single(log.Entries, e => e.EventId == SamsaLogEvents.CloseFlushTimedOut);
        Assert.Equal(LogLevel.Warning, timedOut.Level);
        Assert.Contains("1 record(s)", timedOut.Message, StringComparison.Ordinal);
        var unhandled = Assert.Single(log.Entries, e => e.EventId == SamsaLogEvents.UnhandledRecordFailed);
        Assert.Equal(LogLevel.Warning, unhandled.Level);
        Assert.Equal("Samsa.Producer", unhandled.Category);
        Assert.Contains("nowhere", unhandled.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AFailedRecordWithoutHandlerIsLoggedOnceForManyFailures()
    {
        ConfluentLoader.EnsureLoaded();
        using var cluster = MockCluster.Start(1);
        cluster.CreateTopic("one-partition", 1);
        var log = new ListLoggerFactory();
        await using var producer = new ProducerBuilder<string, string>(new ProducerOptions { BootstrapServers = cluster.BootstrapServers.Split(',') })
            .SetLoggerFactory(log)
            .Build();

        // Partition 3 does not exist: each record fails when it is appended, and none has a handler.
        for (var i = 0; i < 20; i++)
        {
            producer.Produce(new ProducerRecord<string, string>("one-partition", 3, "k", $"v{i}"));
        }

        await producer.FlushAsync().WaitAsync(Bound);
        var entry = Assert.Single(log.Entries, e => e.EventId == SamsaLogEvents.UnhandledRecordFailed);
        Assert.Equal(LogLevel.Warning, entry.Level);
        Assert.Contains("one-partition", entry.Message, StringComparison.Ordinal);
        Assert.Contains("InvalidRecordException", entry.Exception, StringComparison.Ordinal);

        // Nothing on the per-record path logs at Information or above for records that go well (once the first
        // record has got the producer its id, which is logged once at Information).
        await producer.ProduceAsync(new ProducerRecord<string, string>("one-partition", "warm-up")).AsTask().WaitAsync(Bound);
        var before = log.Entries.Count;
        for (var i = 0; i < 100; i++)
        {
            producer.Produce(new ProducerRecord<string, string>("one-partition", "k", $"ok{i}"));
        }

        await producer.FlushAsync().WaitAsync(Bound);
        Assert.DoesNotContain(log.Entries.Skip(before), e => e.Level >= LogLevel.Information);
    }

    [Fact]
    public async Task ARecordRefusedByTheBrokerWithoutHandlerIsLogged()
    {
        ConfluentLoader.EnsureLoaded();
        using var cluster = MockCluster.Start(1);
        cluster.CreateTopic("refused", 1);
        var log = new ListLoggerFactory();
        await using var producer = new ProducerBuilder<string, string>(new ProducerOptions { BootstrapServers = cluster.BootstrapServers.Split(','), EnableIdempotence = false })
            .SetLoggerFactory(log)
            .Build();
        await producer.ProduceAsync(new ProducerRecord<string, string>("refused", "warm-up")).AsTask().WaitAsync(Bound);

        cluster.PushRequestErrors(KafkaApiKey.Produce, TopicAuthorizationFailed);
        producer.Produce(new ProducerRecord<string, string>("refused", "k", "v"));
        await producer.FlushAsync().WaitAsync(Bound);

        var entry = Assert.Single(log.Entries, e => e.EventId == SamsaLogEvents.UnhandledRecordFailed);
        Assert.Equal(LogLevel.Warning, entry.Level);
        Assert.Contains("refused[0]", entry.Message, StringComparison.Ordinal);
        Assert.Contains("TOPIC_AUTHORIZATION_FAILED", entry.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ALostConnectionIsLoggedAndAReconnectedOneToo()
    {
        ConfluentLoader.EnsureLoaded();
        using var cluster = MockCluster.Start(1);
        cluster.CreateTopic("lost", 1);
        var log = new ListLoggerFactory();
        await using var producer = new ProducerBuilder<string, string>(new ProducerOptions
        {
            BootstrapServers = cluster.BootstrapServers.Split(','),
            ReconnectBackoffMax = TimeSpan.FromMilliseconds(200),
            DeliveryTimeout = TimeSpan.FromSeconds(60),
        }).SetLoggerFactory(log).Build();
        await producer.ProduceAsync(new ProducerRecord<string, string>("lost", "first")).AsTask().WaitAsync(Bound);
        Assert.Contains(log.Entries, e => e.EventId == SamsaLogEvents.Connected && e.Level == LogLevel.Debug && e.Category == "Samsa.Network");
        Assert.DoesNotContain(log.Entries, e => e.EventId == SamsaLogEvents.ConnectionLost);

        cluster.SetBrokerDown(1);
        await WaitUntil(() => log.Entries.Any(e => e.EventId == SamsaLogEvents.ConnectionLost));
        var lost = log.Entries.First(e => e.EventId == SamsaLogEvents.ConnectionLost);
        Assert.Equal(LogLevel.Information, lost.Level);
        Assert.Equal("Samsa.Network", lost.Category);
        Assert.Contains("127.0.0.1", lost.Message, StringComparison.Ordinal);

        // A record sent while the broker is down makes the producer try, fail, warn; then it comes back.
        var pending = producer.ProduceAsync(new ProducerRecord<string, string>("lost", "second")).AsTask();
        await WaitUntil(() => log.Entries.Any(e => e.EventId == SamsaLogEvents.BrokerUnreachable));
        cluster.SetBrokerUp(1);
        Assert.True((await pending.WaitAsync(Bound)).Offset >= 0);
        var back = log.Entries.First(e => e.EventId == SamsaLogEvents.BrokerReachable);
        Assert.Equal(LogLevel.Information, back.Level);
    }

    [Fact]
    public async Task SetLoggerSendsEveryAreaToTheOneLogger()
    {
        var log = new ListLogger();
        var options = new ProducerOptions { BootstrapServers = [$"127.0.0.1:{FreePort()}"], MaxBlock = TimeSpan.FromSeconds(60) };
        await using var producer = new ProducerBuilder<string, string>(options).SetLogger(log).SetCloseTimeout(TimeSpan.Zero).Build();
        producer.Produce(new ProducerRecord<string, string>("nowhere", "k", "v"));
        await WaitUntil(() => log.Entries.Any(e => e.EventId == SamsaLogEvents.BrokerUnreachable) && log.Entries.Any(e => e.EventId == SamsaLogEvents.MetadataRefreshFailed));
    }

    private const short TopicAuthorizationFailed = 29;

    private static List<LogEntry> Unreachable(ListLoggerFactory log, string address) =>
        [.. log.Entries.Where(e => e.EventId == SamsaLogEvents.BrokerUnreachable && e.Message.Contains(address, StringComparison.Ordinal))];

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        var until = DateTime.UtcNow + Bound;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < until, "The condition did not come true within the bound.");
            await Task.Delay(50);
        }
    }
}
