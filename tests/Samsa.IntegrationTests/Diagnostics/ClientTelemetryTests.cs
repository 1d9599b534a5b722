using Microsoft.Extensions.Logging;
using Samsa.Compression;
using Samsa.IntegrationTests.Infrastructure;
using Samsa.Testing;
using Samsa.Testing.Proxy;
using Samsa.Testing.Telemetry;

namespace Samsa.IntegrationTests.Diagnostics;

/// <summary>
/// KIP-714 against a scripted broker: the mock cluster has no client telemetry, so a <see cref="TelemetryFront"/> on the
/// proxy answers GetTelemetrySubscriptions and PushTelemetry and keeps what was pushed, which these tests decode.
/// Waits are bounded polls for something to arrive, never assertions on time.
/// </summary>
public sealed class ClientTelemetryTests
{
    private const string Prefix = "org.apache.kafka.producer.";
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    public ClientTelemetryTests() => ConfluentLoader.EnsureLoaded();

    private static ProducerOptions Options(KafkaProxy proxy) => new()
    {
        BootstrapServers = proxy.BootstrapServers.Split(','),
        MaxBlock = TimeSpan.FromSeconds(10),
        Linger = TimeSpan.FromMilliseconds(1),
    };

    [Fact]
    public async Task RequestedMetricsArePushedUntilATerminatingPushAtClose()
    {
        using var cluster = MockCluster.Start(3);
        cluster.CreateTopic("pushed", 3);
        await using var proxy = KafkaProxy.Start(cluster);
        var front = new TelemetryFront
        {
            RequestedMetrics = [Prefix + "node.request.latency", Prefix + "record.send.total"],
            PushInterval = TimeSpan.FromMilliseconds(100),
        };
        proxy.Telemetry = front;
        var log = new ListLogger();

        await using (var producer = new ProducerBuilder<string, string>(Options(proxy)).SetLogger(log).Build())
        {
            for (var i = 0; i < 5; i++)
            {
                await producer.ProduceAsync(new ProducerRecord<string, string>("pushed", $"k{i}", "v"));
            }

            await WaitUntil(() => front.Pushes.Any(p => SentTotal(p) == 5));
        }

        var pushes = front.Pushes;
        var subscribed = Assert.Single(log.Entries, e => e.EventId == SamsaLogEvents.TelemetrySubscribed);
        Assert.Equal(LogLevel.Information, subscribed.Level);
        Assert.All(pushes, p => Assert.Equal(front.IssuedClientInstanceId, p.ClientInstanceId));
        Assert.All(pushes, p => Assert.Equal(front.SubscriptionId, p.SubscriptionId));
        Assert.All(pushes, p => Assert.Equal(0, p.CompressionType));
        Assert.All(pushes, p => Assert.Equal(0, p.ErrorCode));
        Assert.True(pushes[^1].Terminating);
        Assert.Single(pushes, p => p.Terminating);

        var (scope, metrics) = OtlpDecoder.Decode(pushes.First(p => SentTotal(p) == 5).Metrics);
        Assert.Equal("Samsa", scope);
        Assert.All(metrics, m => Assert.True(m.Name.StartsWith(Prefix + "node.request.latency", StringComparison.Ordinal) || m.Name == Prefix + "record.send.total", m.Name));

        var sent = Assert.Single(metrics, m => m.Name == Prefix + "record.send.total");
        Assert.True(sent.IsSum);
        Assert.Equal(2, sent.Temporality); // cumulative, as the subscription did not ask for deltas
        Assert.True(Assert.Single(sent.Points).StartTimeUnixNano > 0);

        // The latency of the Produce requests, by broker, in every push that followed requests.
        var latencies = front.Pushes.Select(p => OtlpDecoder.Decode(p.Metrics).Metrics).SelectMany(m => m)
            .Where(m => m.Name == Prefix + "node.request.latency.avg").SelectMany(m => m.Points).ToList();
        Assert.NotEmpty(latencies);
        Assert.All(latencies, p => Assert.InRange(int.Parse(p.Attributes["node_id"], System.Globalization.CultureInfo.InvariantCulture), 1, 3));
        Assert.All(latencies, p => Assert.True(p.Value >= 0));
        Assert.Equal("ms", front.Pushes.Select(p => OtlpDecoder.Decode(p.Metrics).Metrics).SelectMany(m => m).First(m => m.Name == Prefix + "node.request.latency.max").Unit);
    }

    [Fact]
    public async Task DeltaSumsAddUpAndZstdIsUsedWhenTheBrokerPrefersIt()
    {
        using var cluster = MockCluster.Start(1);
        cluster.CreateTopic("delta", 1);
        await using var proxy = KafkaProxy.Start(cluster);
        var front = new TelemetryFront
        {
            RequestedMetrics = [""], // everything
            PushInterval = TimeSpan.FromMilliseconds(100),
            DeltaTemporality = true,
            AcceptedCompressionTypes = [4, 1], // zstd, then gzip
        };
        proxy.Telemetry = front;

        await using (var producer = new ProducerBuilder<string, string>(Options(proxy)).Build())
        {
            for (var i = 0; i < 7; i++)
            {
                await producer.ProduceAsync(new ProducerRecord<string, string>("delta", "k", "v"));
            }

            await WaitUntil(() => front.Pushes.Count(p => p.ErrorCode == 0) >= 2);
        }

        var pushes = front.Pushes;
        Assert.All(pushes, p => Assert.Equal(4, p.CompressionType));
        var decoded = pushes.Select(p => OtlpDecoder.Decode(Decompress(p.Metrics)).Metrics).ToList();
        var sentDeltas = decoded.SelectMany(m => m).Where(m => m.Name == Prefix + "record.send.total").ToList();
        Assert.All(sentDeltas, m => Assert.Equal(1, m.Temporality));
        Assert.Equal(7, sentDeltas.Sum(m => m.Points.Single().Value));

        // Everything means the KIP's standard producer metrics among others.
        var names = decoded.SelectMany(m => m).Select(m => m.Name).ToHashSet();
        Assert.Contains(Prefix + "connection.creation.total", names);
        Assert.Contains(Prefix + "connection.creation.rate", names);
        Assert.Contains(Prefix + "record.queue.time.avg", names);
        Assert.Contains(Prefix + "record.queue.time.max", names);
        Assert.Contains(Prefix + "produce.throttle.time.avg", names);
        Assert.Contains(Prefix + "buffer.available.bytes", names);
    }

    [Fact]
    public async Task TotalsCountFromTheProducersStartHoweverLateTheSubscriptionComes()
    {
        using var cluster = MockCluster.Start(1);
        cluster.CreateTopic("late", 1);
        await using var proxy = KafkaProxy.Start(cluster);
        var front = new TelemetryFront { RequestedMetrics = [], PushInterval = TimeSpan.FromMilliseconds(100) };
        proxy.Telemetry = front;

        await using (var producer = new ProducerBuilder<string, string>(Options(proxy)).Build())
        {
            // Every record is acknowledged while no metric is subscribed: the subscription comes after them.
            for (var i = 0; i < 5; i++)
            {
                await producer.ProduceAsync(new ProducerRecord<string, string>("late", "k", "v"));
            }

            await WaitUntil(() => front.SubscriptionRequests >= 1);
            front.RequestedMetrics = [Prefix + "record.send.total"];
            await WaitUntil(() => front.Pushes.Count > 0);
        }

        // A cumulative sum is the count since the client started (as the Java client's record-send-total).
        Assert.All(front.Pushes, p => Assert.Equal(5, SentTotal(p)));
    }

    [Fact]
    public async Task AnUnknownSubscriptionIdMakesTheClientFetchTheSubscriptionAgain()
    {
        using var cluster = MockCluster.Start(1);
        cluster.CreateTopic("resubscribe", 1);
        await using var proxy = KafkaProxy.Start(cluster);
        var front = new TelemetryFront { RequestedMetrics = [Prefix + "record."], PushInterval = TimeSpan.FromMilliseconds(100) };
        proxy.Telemetry = front;

        await using (var producer = new ProducerBuilder<string, string>(Options(proxy)).Build())
        {
            await producer.ProduceAsync(new ProducerRecord<string, string>("resubscribe", "k", "v"));
            await WaitUntil(() => front.Pushes.Count > 0);

            front.SubscriptionId = 7;
            await WaitUntil(() => front.Pushes.Any(p => p.SubscriptionId == 7 && p.ErrorCode == 0));
        }

        Assert.Contains(front.Pushes, p => p.ErrorCode == 117);
        Assert.True(front.SubscriptionRequests >= 2);

        // An error that says the broker will never take our pushes turns them off for good.
        front.FailNextPush(87); // INVALID_RECORD
        var log = new ListLogger();
        await using (var producer = new ProducerBuilder<string, string>(Options(proxy)).SetLogger(log).Build())
        {
            await producer.ProduceAsync(new ProducerRecord<string, string>("resubscribe", "k", "v"));
            await WaitUntil(() => front.Pushes.Any(p => p.ErrorCode == 87));
            var requestsAfterRefusal = front.SubscriptionRequests;
            var pushesAfterRefusal = front.Pushes.Count;
            await producer.ProduceAsync(new ProducerRecord<string, string>("resubscribe", "k", "v"));
            await producer.DisposeAsync();
            Assert.Equal(pushesAfterRefusal, front.Pushes.Count); // no terminating push either
            Assert.Equal(requestsAfterRefusal, front.SubscriptionRequests);
        }

        var stopped = Assert.Single(log.Entries, e => e.EventId == SamsaLogEvents.TelemetryStopped);
        Assert.Equal(LogLevel.Warning, stopped.Level);
        Assert.Contains("INVALID_RECORD", stopped.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NothingIsPushedWhenNoMetricIsRequestedOrPushIsOff()
    {
        using var cluster = MockCluster.Start(1);
        cluster.CreateTopic("quiet", 1);
        await using var proxy = KafkaProxy.Start(cluster);
        var front = new TelemetryFront { RequestedMetrics = [], PushInterval = TimeSpan.FromMilliseconds(100) };
        proxy.Telemetry = front;

        await using (var producer = new ProducerBuilder<string, string>(Options(proxy)).Build())
        {
            await producer.ProduceAsync(new ProducerRecord<string, string>("quiet", "k", "v"));

            // An empty subscription is asked again after each interval: two asks prove an interval passed.
            await WaitUntil(() => front.SubscriptionRequests >= 2);
        }

        Assert.Empty(front.Pushes);

        var asked = front.SubscriptionRequests;
        front.RequestedMetrics = [""];
        await using (var producer = new ProducerBuilder<string, string>(Options(proxy) with { EnableMetricsPush = false }).Build())
        {
            await producer.ProduceAsync(new ProducerRecord<string, string>("quiet", "k", "v"));
            await producer.FlushAsync();
        }

        Assert.Equal(asked, front.SubscriptionRequests);
        Assert.Empty(front.Pushes);
    }

    private static double? SentTotal(TelemetryPush push) =>
        OtlpDecoder.Decode(push.Metrics).Metrics.FirstOrDefault(m => m.Name == Prefix + "record.send.total")?.Points.Single().Value;

    private static byte[] Decompress(byte[] payload)
    {
        var output = new System.Buffers.ArrayBufferWriter<byte>();
        Compressor.Decompress(CompressionType.Zstd, payload, output);
        return output.WrittenSpan.ToArray();
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Bound;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "The expected telemetry did not arrive.");
            await Task.Delay(20);
        }
    }
}
