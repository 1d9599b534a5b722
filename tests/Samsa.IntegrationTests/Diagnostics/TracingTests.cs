using System.Diagnostics;
using System.Globalization;
using System.Text;
using OpenTelemetry.Trace;
using Samsa.IntegrationTests.Infrastructure;

namespace Samsa.IntegrationTests.Diagnostics;

/// <summary>
/// The "send" spans as the OpenTelemetry SDK exports them, and the trace context they leave in the records'
/// headers, read back by Confluent.Kafka's consumer.
/// </summary>
[Collection(MockClusterCollectionDefinition.Name)]
public sealed class TracingTests(MockClusterFixture fixture)
{
    private ProducerOptions Options(string clientId) => new()
    {
        BootstrapServers = fixture.BootstrapServers.Split(','),
        ClientId = clientId,
        MaxBlock = TimeSpan.FromSeconds(10),
    };

    [Fact]
    public async Task SendSpansAreChildrenOfTheCallersActivityWithMessagingAttributesAndTheirContextInTheHeaders()
    {
        using var bed = new TelemetryBed(metrics: false);
        var clientId = $"traced-{Guid.NewGuid():N}";
        var topic = fixture.CreateTopic(2);
        var results = new List<DeliveryResult>();
        Activity? parent;
        await using (var producer = new ProducerBuilder<string, string>(Options(clientId)).Build())
        {
            using (parent = TelemetryBed.TestSource.StartActivity("handle order"))
            {
                Assert.NotNull(parent);
                for (var i = 0; i < 3; i++)
                {
                    var send = producer.ProduceAsync(new ProducerRecord<string, string>(topic, $"order-{i}", "v") { Headers = new Headers().Add("mine", "kept") });

                    // The span ends on the reporting loop: it never becomes the caller's current activity.
                    Assert.Same(parent, Activity.Current);
                    results.Add(await send);
                }

                // A handler-based Produce gets its span too.
                var reported = new TaskCompletionSource<DeliveryReport>(TaskCreationOptions.RunContinuationsAsynchronously);
                producer.Produce(new ProducerRecord<string, string>(topic, "order-3", null!), r => reported.SetResult(r));
                var report = await reported.Task.WaitAsync(TimeSpan.FromSeconds(30));
                Assert.Null(report.Error);
                results.Add(report.Result);
            }
        }

        var spans = bed.SendSpans(clientId);
        Assert.Equal(4, spans.Count);
        var byOffset = new Dictionary<(int, long), Activity>();
        foreach (var span in spans)
        {
            Assert.Equal($"{topic} send", span.DisplayName);
            Assert.Equal(ActivityKind.Producer, span.Kind);
            Assert.Equal(parent.TraceId, span.TraceId);
            Assert.Equal(parent.SpanId, span.ParentSpanId);
            Assert.Equal(ActivityStatusCode.Unset, span.Status);
            Assert.Equal("kafka", span.GetTagItem("messaging.system"));
            Assert.Equal("send", span.GetTagItem("messaging.operation.type"));
            Assert.Equal("send", span.GetTagItem("messaging.operation.name"));
            Assert.Equal(topic, span.GetTagItem("messaging.destination.name"));
            Assert.StartsWith("order-", (string)span.GetTagItem("messaging.kafka.message.key")!);
            var partition = int.Parse((string)span.GetTagItem("messaging.destination.partition.id")!, CultureInfo.InvariantCulture);
            var offset = (long)span.GetTagItem("messaging.kafka.offset")!;
            byOffset.Add((partition, offset), span);
        }

        foreach (var result in results)
        {
            var span = byOffset[(result.Partition, result.Offset)];
            var key = (string)span.GetTagItem("messaging.kafka.message.key")!;
            Assert.Equal(key == "order-3" ? true : null, span.GetTagItem("messaging.kafka.message.tombstone"));
        }

        // Confluent.Kafka's consumer finds each record's own span as its parent context.
        var read = RecordReader.ReadAll(fixture.BootstrapServers, topic, 4);
        Assert.Equal(4, read.Count);
        foreach (var record in read)
        {
            var span = byOffset[(record.Partition, record.Offset)];
            var traceparent = record.Headers.Where(h => h.Key == "traceparent").Select(h => Encoding.ASCII.GetString(h.Value!)).Single();
            Assert.Equal($"00-{span.TraceId}-{span.SpanId}-01", traceparent);
            var propagated = ActivityContext.Parse(traceparent, null);
            Assert.Equal(span.Context.SpanId, propagated.SpanId);
            if (Encoding.UTF8.GetString(record.Key!) != "order-3")
            {
                // The caller's header first, untouched, then the trace context.
                Assert.Equal("mine", record.Headers[0].Key);
                Assert.Equal("kept", Encoding.UTF8.GetString(record.Headers[0].Value!));
            }
        }
    }

    [Fact]
    public async Task HeaderInjectionCanBeTurnedOffByConfig()
    {
        using var bed = new TelemetryBed(metrics: false);
        var clientId = $"no-inject-{Guid.NewGuid():N}";
        var topic = fixture.CreateTopic(1);
        var options = ProducerOptions.FromProperties(new Dictionary<string, string>
        {
            ["bootstrap.servers"] = fixture.BootstrapServers,
            ["client.id"] = clientId,
            ["samsa.tracing.inject.headers"] = "false",
        });
        Assert.False(options.InjectTraceHeaders);
        await using (var producer = new ProducerBuilder<string, string>(options).Build())
        {
            using var parent = TelemetryBed.TestSource.StartActivity("parent");
            await producer.ProduceAsync(new ProducerRecord<string, string>(topic, "k", "v"));
        }

        Assert.Single(bed.SendSpans(clientId));
        var record = Assert.Single(RecordReader.ReadAll(fixture.BootstrapServers, topic, 1));
        Assert.Empty(record.Headers);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task UnsampledRecordsGetNoSpanAndNoHeaders(bool underUnsampledParent)
    {
        // The SDK drops these, yet still creates activities for propagation: Samsa keeps none of them.
        using var bed = new TelemetryBed(metrics: false, sampler: new AlwaysOffSampler());
        var clientId = $"unsampled-{Guid.NewGuid():N}";
        var topic = fixture.CreateTopic(1);
        await using (var producer = new ProducerBuilder<string, string>(Options(clientId)).Build())
        {
            using var parent = underUnsampledParent ? TelemetryBed.TestSource.StartActivity("unsampled parent") : null;
            await producer.ProduceAsync(new ProducerRecord<string, string>(topic, "k", "v"));
        }

        Assert.Empty(bed.SendSpans(clientId));
        Assert.Empty(Assert.Single(RecordReader.ReadAll(fixture.BootstrapServers, topic, 1)).Headers);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task WithoutRootSpansOnlyRecordsUnderACallersActivityAreOfferedToTheSampler(bool rootSpans)
    {
        var sampler = new RootSendsCounted(Environment.CurrentManagedThreadId);
        using var bed = new TelemetryBed(metrics: false, sampler: sampler);
        var clientId = $"roots-{rootSpans}-{Guid.NewGuid():N}";
        var topic = fixture.CreateTopic(1);
        var options = ProducerOptions.FromProperties(new Dictionary<string, string>
        {
            ["bootstrap.servers"] = fixture.BootstrapServers,
            ["client.id"] = clientId,
            ["samsa.tracing.root.spans"] = rootSpans ? "true" : "false",
        });
        await using (var producer = new ProducerBuilder<string, string>(options).Build())
        {
            // Produce is synchronous up to the append: the sampler runs on this thread, before any await.
            for (var i = 0; i < 3; i++)
            {
                producer.Produce(new ProducerRecord<string, string>(topic, $"root-{i}", "v"));
            }

            using (TelemetryBed.TestSource.StartActivity("parent"))
            {
                producer.Produce(new ProducerRecord<string, string>(topic, "child", "v"));
            }

            Assert.True(producer.Flush(TimeSpan.FromSeconds(30)));
        }

        Assert.Equal(rootSpans ? 3 : 0, sampler.Offered);
        Assert.Equal("child", Assert.Single(bed.SendSpans(clientId)).GetTagItem("messaging.kafka.message.key"));
        var read = RecordReader.ReadAll(fixture.BootstrapServers, topic, 4);
        Assert.Equal(["root-0", "root-1", "root-2", "child"], read.Select(r => Encoding.UTF8.GetString(r.Key!)));
        Assert.Equal([0, 0, 0, 1], read.Select(r => r.Headers.Count(h => h.Key == "traceparent")));
    }

    /// <summary>Samples as <see cref="TestRootsOnly"/> does, counting the root "send" spans offered on one thread.</summary>
    private sealed class RootSendsCounted(int thread) : Sampler
    {
        private readonly TestRootsOnly _inner = new();

        public int Offered { get; private set; }

        public override SamplingResult ShouldSample(in SamplingParameters parameters)
        {
            if (parameters.ParentContext.TraceId == default && parameters.Name == "send" && Environment.CurrentManagedThreadId == thread)
            {
                Offered++;
            }

            return _inner.ShouldSample(parameters);
        }
    }

    [Fact]
    public async Task ACallersOwnTraceparentIsKeptAndNotAddedTwice()
    {
        using var bed = new TelemetryBed(metrics: false);
        var clientId = $"forwarded-{Guid.NewGuid():N}";
        var topic = fixture.CreateTopic(1);
        const string Upstream = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        await using (var producer = new ProducerBuilder<string, string>(Options(clientId)).Build())
        {
            using var parent = TelemetryBed.TestSource.StartActivity("forward");
            await producer.ProduceAsync(new ProducerRecord<string, string>(topic, "k", "v") { Headers = new Headers().Add("traceparent", Upstream) });
        }

        Assert.Single(bed.SendSpans(clientId));
        var record = Assert.Single(RecordReader.ReadAll(fixture.BootstrapServers, topic, 1));
        var traceparent = Assert.Single(record.Headers, h => h.Key == "traceparent");
        Assert.Equal(Upstream, Encoding.ASCII.GetString(traceparent.Value!));
    }

    [Fact]
    public async Task ARecordTheBrokerRefusesEndsItsSpanWithTheErrorCodeAndItsPartition()
    {
        const short MessageTooLarge = 10;
        using var bed = new TelemetryBed(metrics: false);
        var clientId = $"refused-span-{Guid.NewGuid():N}";
        using var cluster = Samsa.Testing.MockCluster.Start(1);
        cluster.CreateTopic("refused", 1);
        cluster.PushRequestErrors(Samsa.Testing.KafkaApiKey.Produce, MessageTooLarge);
        await using (var producer = new ProducerBuilder<string, string>(new ProducerOptions { BootstrapServers = cluster.BootstrapServers.Split(','), ClientId = clientId, EnableIdempotence = false }).Build())
        {
            using var parent = TelemetryBed.TestSource.StartActivity("parent");
            await Assert.ThrowsAsync<KafkaBrokerException>(async () => await producer.ProduceAsync(new ProducerRecord<string, string>("refused", "k", "v")));
        }

        var span = Assert.Single(bed.SendSpans(clientId));
        Assert.Equal(ActivityStatusCode.Error, span.Status);
        Assert.Equal("MESSAGE_TOO_LARGE", span.GetTagItem("error.type"));
        Assert.Equal("0", span.GetTagItem("messaging.destination.partition.id"));
        Assert.Null(span.GetTagItem("messaging.kafka.offset"));
    }

    [Fact]
    public async Task ARecordThatFailsEndsItsSpanWithAnErrorStatus()
    {
        using var bed = new TelemetryBed(metrics: false);
        var clientId = $"failing-{Guid.NewGuid():N}";
        var topic = fixture.CreateTopic(1);
        await using (var producer = new ProducerBuilder<string, string>(Options(clientId) with { MaxRequestSize = 1000 }).Build())
        {
            using var parent = TelemetryBed.TestSource.StartActivity("parent");
            await Assert.ThrowsAsync<RecordTooLargeException>(async () => await producer.ProduceAsync(new ProducerRecord<string, string>(topic, "k", new string('x', 2000))));
        }

        var span = Assert.Single(bed.SendSpans(clientId));
        Assert.Equal(ActivityStatusCode.Error, span.Status);
        Assert.Equal("Samsa.RecordTooLargeException", span.GetTagItem("error.type"));
        Assert.Null(span.GetTagItem("messaging.kafka.offset"));
    }
}
