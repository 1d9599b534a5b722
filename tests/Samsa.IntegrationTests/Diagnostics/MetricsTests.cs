using OpenTelemetry.Metrics;
using Samsa.IntegrationTests.Infrastructure;
using Samsa.Testing;

namespace Samsa.IntegrationTests.Diagnostics;

/// <summary>
/// The <c>Samsa</c> meter as the OpenTelemetry SDK exports it: names, units, attributes and values after a
/// known number of records, for successes, failures at the call and retried broker errors.
/// </summary>
[Collection(MockClusterCollectionDefinition.Name)]
public sealed class MetricsTests(MockClusterFixture fixture)
{
    private static readonly double[] SemconvDurationBuckets = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

    private ProducerOptions Options(string clientId) => new()
    {
        BootstrapServers = fixture.BootstrapServers.Split(','),
        ClientId = clientId,
        MaxBlock = TimeSpan.FromSeconds(10),
        Linger = TimeSpan.FromMilliseconds(5),
    };

    [Fact]
    public async Task SentRecordsAreCountedWithSemanticConventionNamesUnitsAndAttributes()
    {
        using var bed = new TelemetryBed(traces: false);
        var clientId = $"metrics-{Guid.NewGuid():N}";
        var topic = fixture.CreateTopic(2);
        await using (var producer = new ProducerBuilder<string, string>(Options(clientId)).Build())
        {
            var sends = Enumerable.Range(0, 20).Select(i => producer.ProduceAsync(new ProducerRecord<string, string>(topic, $"k{i}", new string('v', 100)))).ToList();
            foreach (var send in sends)
            {
                await send;
            }

            await producer.FlushAsync();
            var metrics = bed.Collect();

            var sent = metrics["messaging.client.sent.messages"];
            Assert.Equal("{message}", sent.Unit);
            Assert.Equal(MetricType.LongSum, sent.MetricType);
            var sentPoints = sent.For(clientId);
            Assert.Equal(20, sentPoints.Sum(p => p.GetSumLong()));
            Assert.All(sentPoints, p =>
            {
                var tags = p.Tags();
                Assert.Equal("kafka", tags["messaging.system"]);
                Assert.Equal("send", tags["messaging.operation.name"]);
                Assert.Equal(topic, tags["messaging.destination.name"]);
                Assert.InRange(int.Parse((string)tags["messaging.destination.partition.id"]!, System.Globalization.CultureInfo.InvariantCulture), 0, 1);
                Assert.False(tags.ContainsKey("error.type"));
            });

            var duration = metrics["messaging.client.operation.duration"];
            Assert.Equal("s", duration.Unit);
            Assert.Equal(MetricType.Histogram, duration.MetricType);
            var durationPoints = duration.For(clientId);
            Assert.Equal(20, durationPoints.Sum(p => p.GetHistogramCount()));
            Assert.All(durationPoints, p => Assert.Equal(SemconvDurationBuckets, p.Bounds()));

            var batchSize = metrics["samsa.producer.batch.size"];
            Assert.Equal("By", batchSize.Unit);
            Assert.All(batchSize.For(clientId), p => Assert.Equal(topic, p.Tags()["messaging.destination.name"]));
            Assert.True(batchSize.For(clientId).Sum(p => p.GetHistogramSum()) > 20 * 100);

            var ratio = metrics["samsa.producer.compression.ratio"];
            Assert.Equal(1.0, ratio.For(clientId).Sum(p => p.GetHistogramSum()) / ratio.For(clientId).Sum(p => p.GetHistogramCount()));
            Assert.All(ratio.For(clientId), p => Assert.Equal("none", p.Tags()["samsa.compression.type"]));

            var requestRecords = metrics["samsa.producer.request.records"];
            Assert.Equal("{record}", requestRecords.Unit);
            Assert.Equal(20, requestRecords.For(clientId).Sum(p => p.GetHistogramSum()));

            var requestDuration = metrics["samsa.producer.request.duration"];
            Assert.Equal("s", requestDuration.Unit);
            Assert.NotEmpty(requestDuration.For(clientId));
            Assert.All(requestDuration.For(clientId), p =>
            {
                var tags = p.Tags();
                Assert.Contains($"{tags["server.address"]}:{tags["server.port"]}", fixture.BootstrapServers.Split(','));
                Assert.IsType<int>(tags["server.port"]);
            });

            // Every request was answered: the in-flight count is back to zero, per broker.
            Assert.All(metrics["samsa.producer.requests.in_flight"].For(clientId), p => Assert.Equal(0, p.GetSumLong()));
            Assert.NotEmpty(metrics["samsa.producer.throttle.duration"].For(clientId));

            // Gauges read the producer when collected: everything was reported and its memory given back.
            Assert.Equal(0, Gauge(metrics, "samsa.producer.buffer.used", clientId));
            Assert.Equal(Options(clientId).BufferMemory, Gauge(metrics, "samsa.producer.buffer.available", clientId));
            Assert.Equal(0, Gauge(metrics, "samsa.producer.records.queued", clientId));
            Assert.True(Gauge(metrics, "samsa.producer.connections", clientId) >= 1);
            var age = metrics["samsa.producer.metadata.age"].For(clientId).Single().GetGaugeLastValueDouble();
            Assert.InRange(age, 0, 300);
            Assert.Equal("s", metrics["samsa.producer.metadata.age"].Unit);
        }

        // A disposed producer is no longer observed.
        Assert.Empty(bed.Collect().TryGetValue("samsa.producer.buffer.used", out var after) ? after.For(clientId) : []);
    }

    [Fact]
    public async Task TwoProducersAreToldApartByClientId()
    {
        using var bed = new TelemetryBed(traces: false);
        var (first, second) = ($"first-{Guid.NewGuid():N}", $"second-{Guid.NewGuid():N}");
        var topic = fixture.CreateTopic(1);
        await using var a = new ProducerBuilder<string, string>(Options(first)).Build();
        await using var b = new ProducerBuilder<string, string>(Options(second)).Build();
        await a.ProduceAsync(new ProducerRecord<string, string>(topic, "k", "v"));
        for (var i = 0; i < 3; i++)
        {
            await b.ProduceAsync(new ProducerRecord<string, string>(topic, "k", "v"));
        }

        await a.FlushAsync();
        await b.FlushAsync();
        var sent = bed.Collect()["messaging.client.sent.messages"];
        Assert.Equal(1, sent.For(first).Sum(p => p.GetSumLong()));
        Assert.Equal(3, sent.For(second).Sum(p => p.GetSumLong()));
    }

    [Fact]
    public async Task RecordsRefusedAtTheCallAreCountedWithTheirErrorType()
    {
        using var bed = new TelemetryBed(traces: false);
        var clientId = $"refused-{Guid.NewGuid():N}";
        var topic = fixture.CreateTopic(1);
        await using var producer = new ProducerBuilder<string, string>(Options(clientId) with { MaxRequestSize = 1000 }).Build();
        await producer.ProduceAsync(new ProducerRecord<string, string>(topic, "k", "v"));
        await Assert.ThrowsAsync<RecordTooLargeException>(async () => await producer.ProduceAsync(new ProducerRecord<string, string>(topic, "k", new string('x', 2000))));
        await Assert.ThrowsAsync<InvalidRecordException>(async () => await producer.ProduceAsync(new ProducerRecord<string, string>(topic, "k", "v") { Partition = 7 }));

        var metrics = bed.Collect();
        var sent = metrics["messaging.client.sent.messages"].For(clientId);
        Assert.Equal(1, sent.Where(p => !p.Tags().ContainsKey("error.type")).Sum(p => p.GetSumLong()));
        Assert.Equal(1, sent.Where(p => (string?)p.Tags().GetValueOrDefault("error.type") == "Samsa.RecordTooLargeException").Sum(p => p.GetSumLong()));
        Assert.Equal(1, sent.Where(p => (string?)p.Tags().GetValueOrDefault("error.type") == "Samsa.InvalidRecordException").Sum(p => p.GetSumLong()));

        var errors = metrics["samsa.producer.record.errors"];
        Assert.Equal("{record}", errors.Unit);
        Assert.Equal(2, errors.For(clientId).Sum(p => p.GetSumLong()));
        Assert.All(errors.For(clientId), p => Assert.Equal(topic, p.Tags()["messaging.destination.name"]));
    }

    [Fact]
    public async Task RetriedAndFailedBatchesAreCountedByErrorCode()
    {
        const short NotLeaderOrFollower = 6;
        const short MessageTooLarge = 10;
        using var bed = new TelemetryBed(traces: false);
        var clientId = $"retries-{Guid.NewGuid():N}";
        using var cluster = MockCluster.Start(1);
        cluster.CreateTopic("retried", 1);
        var options = new ProducerOptions
        {
            BootstrapServers = cluster.BootstrapServers.Split(','),
            ClientId = clientId,
            EnableIdempotence = false,
            MaxInFlightRequestsPerConnection = 1,
            RetryBackoff = TimeSpan.FromMilliseconds(10),
            MaxBlock = TimeSpan.FromSeconds(10),
        };
        await using var producer = new ProducerBuilder<string, string>(options).Build();
        await producer.ProduceAsync(new ProducerRecord<string, string>("retried", "k", "warm-up"));

        cluster.PushRequestErrors(KafkaApiKey.Produce, NotLeaderOrFollower);
        await producer.ProduceAsync(new ProducerRecord<string, string>("retried", "k", "retried once"));
        cluster.PushRequestErrors(KafkaApiKey.Produce, MessageTooLarge);
        await Assert.ThrowsAsync<KafkaBrokerException>(async () => await producer.ProduceAsync(new ProducerRecord<string, string>("retried", "k", "refused")));

        var metrics = bed.Collect();
        var retries = metrics["samsa.producer.record.retries"].For(clientId);
        Assert.Equal(1, retries.Sum(p => p.GetSumLong()));
        Assert.Equal("NOT_LEADER_OR_FOLLOWER", retries.Single().Tags()["error.type"]);

        var errors = metrics["samsa.producer.record.errors"].For(clientId);
        Assert.Equal("MESSAGE_TOO_LARGE", errors.Single().Tags()["error.type"]);
        Assert.Equal(1, errors.Single().GetSumLong());
        Assert.Equal("0", errors.Single().Tags()["messaging.destination.partition.id"]);

        var sent = metrics["messaging.client.sent.messages"].For(clientId);
        Assert.Equal(3, sent.Sum(p => p.GetSumLong()));
        Assert.Equal(1, sent.Where(p => (string?)p.Tags().GetValueOrDefault("error.type") == "MESSAGE_TOO_LARGE").Sum(p => p.GetSumLong()));

        // Every request was answered, the refused ones too (the error was the partition's, not the request's).
        Assert.All(metrics["samsa.producer.requests.in_flight"].For(clientId), p => Assert.Equal(0, p.GetSumLong()));
    }

    private static long Gauge(Dictionary<string, MetricSnapshot> metrics, string name, string clientId) =>
        metrics[name].For(clientId).Single().GetGaugeLastValueLong();
}
