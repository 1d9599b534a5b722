namespace Samsa.IntegrationTests;

using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using Confluent.Kafka;
using Samsa.IntegrationTests.Infrastructure;
using Samsa.Testing;
using Xunit.Abstractions;

/// <summary>
/// Tests of the test kit itself (MockCluster, ConfluentLoader, RecordReader), using only
/// Confluent.Kafka's producer. Waits are bounded by timeouts; nothing asserts on timing.
/// </summary>
[Collection(MockClusterCollectionDefinition.Name)]
public sealed class MockClusterTests(MockClusterFixture fixture, ITestOutputHelper output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public void LoadsThePackagedLibrdkafkaIntoBothTheTestKitAndConfluent()
    {
        output.WriteLine($"librdkafka loaded: Confluent.Kafka {Library.VersionString}, test kit {MockCluster.NativeVersion}, from {MockCluster.LibraryPath}");
        Assert.Equal(ConfluentLoader.ExpectedVersion, fixture.LibrdkafkaVersion);
        Assert.Equal(ConfluentLoader.ExpectedVersion, Library.VersionString);
        Assert.Equal(ConfluentLoader.ExpectedVersion, MockCluster.NativeVersion);
        Assert.True(File.Exists(MockCluster.LibraryPath));
    }

    [Fact]
    public void ClusterHasThreeBrokersWithIdsFromOne()
    {
        var endpoints = fixture.BootstrapServers.Split(',');
        Assert.Equal(3, fixture.Cluster.BrokerCount);
        Assert.Equal(3, endpoints.Length);
        Assert.All(endpoints, e => Assert.StartsWith("127.0.0.1:", e, StringComparison.Ordinal));

        using var admin = CreateAdmin(fixture.BootstrapServers);
        var metadata = admin.GetMetadata(Bound);
        Assert.Equal([1, 2, 3], metadata.Brokers.Select(b => b.BrokerId).Order());
    }

    [Fact]
    public void NativeErrorsThrowNamingTheCall()
    {
        var e = Assert.Throws<InvalidOperationException>(() => fixture.Cluster.SetBrokerDown(99));
        Assert.Contains("rd_kafka_mock_broker_set_down", e.Message, StringComparison.Ordinal);

        var topic = fixture.CreateTopic(1);
        e = Assert.Throws<InvalidOperationException>(() => fixture.Cluster.CreateTopic(topic, 1));
        Assert.Contains("rd_kafka_mock_topic_create", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BrokerRoundTripTimeAcceptsKnownBrokersOnly()
    {
        using var cluster = MockCluster.Start(2);
        cluster.SetBrokerRoundTripTime(2, TimeSpan.FromMilliseconds(5));
        cluster.SetBrokerRoundTripTime(2, TimeSpan.Zero);
        var e = Assert.Throws<InvalidOperationException>(() => cluster.SetBrokerRoundTripTime(3, TimeSpan.FromMilliseconds(5)));
        Assert.Contains("rd_kafka_mock_broker_set_rtt", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownTopicsAreAutoCreatedByMetadataWithFourPartitions()
    {
        var topic = "never-created-" + Guid.NewGuid().ToString("N");
        using var admin = CreateAdmin(fixture.BootstrapServers);
        var metadata = admin.GetMetadata(topic, Bound).Topics.Single();
        Assert.Equal(ErrorCode.NoError, metadata.Error.Code);
        Assert.Equal(4, metadata.Partitions.Count);
        Assert.Throws<InvalidOperationException>(() => fixture.Cluster.CreateTopic(topic, 1)); // now exists
    }

    [Fact]
    public void DownBrokerLeavesMetadataButStaysPartitionLeader()
    {
        using var cluster = MockCluster.Start(3);
        cluster.CreateTopic("down-leader", 1);
        cluster.SetPartitionLeader("down-leader", 0, 2);
        cluster.SetBrokerDown(2);

        using var admin = CreateAdmin(cluster.BootstrapServers);
        var metadata = admin.GetMetadata("down-leader", Bound);
        Assert.Equal([1, 3], metadata.Brokers.Select(b => b.BrokerId).Order());
        Assert.Equal(2, metadata.Topics.Single().Partitions.Single().Leader);
    }

    [Fact]
    public void DisposeIsIdempotentAndLaterCallsThrow()
    {
        var cluster = MockCluster.Start(1);
        cluster.Dispose();
        cluster.Dispose();
        Assert.Throws<ObjectDisposedException>(() => cluster.CreateTopic("x", 1));
    }

    [Fact]
    public async Task KeyedRecordsWithHeadersAndTimestampsReadBackExactly()
    {
        var topic = fixture.CreateTopic(3, "roundtrip");
        var baseTs = new DateTimeOffset(2024, 1, 2, 3, 4, 5, TimeSpan.Zero).ToUnixTimeMilliseconds();
        var sent = new List<(Message<byte[]?, byte[]?> Message, DeliveryResult<byte[]?, byte[]?> Report)>();

        using (var producer = CreateProducer(fixture.BootstrapServers))
        {
            for (var i = 0; i < 60; i++)
            {
                var headers = new Headers
                {
                    { "index", Encoding.UTF8.GetBytes(i.ToString(System.Globalization.CultureInfo.InvariantCulture)) },
                    { "dup", [1, 2, 3] },
                    { "dup", [] },
                };
                if (i % 7 == 0)
                {
                    headers.Add("null-value", null);
                }

                var message = new Message<byte[]?, byte[]?>
                {
                    Key = i % 10 == 9 ? null : Encoding.UTF8.GetBytes($"key-{i % 13}"),
                    Value = i % 11 == 10 ? null : Encoding.UTF8.GetBytes($"value-{i}-" + new string('x', i)),
                    Headers = headers,
                    Timestamp = new Timestamp(baseTs + (i * 1000L), TimestampType.CreateTime),
                };
                var report = await producer.ProduceAsync(topic, message);
                Assert.Equal(PersistenceStatus.Persisted, report.Status);
                sent.Add((message, report));
            }
        }

        // Keyed records spread over more than one partition (so the ordering per partition matters).
        Assert.True(sent.Select(s => s.Report.Partition.Value).Distinct().Count() > 1);

        var expected = sent
            .Select(s => new ConsumedRecord(
                topic,
                s.Report.Partition.Value,
                s.Report.Offset.Value,
                s.Message.Key,
                s.Message.Value,
                [.. s.Message.Headers.Select(h => (h.Key, h.GetValueBytes()))],
                s.Message.Timestamp.UnixTimestampMs,
                TimestampType.CreateTime))
            .OrderBy(r => r.Partition).ThenBy(r => r.Offset)
            .ToList();

        var actual = RecordReader.ReadAll(fixture.BootstrapServers, topic, expected.Count, Bound);
        AssertSameRecords(expected, actual);

        // ReadPartition returns exactly what each partition holds: no more, no less.
        var perPartition = Enumerable.Range(0, 3)
            .SelectMany(p => RecordReader.ReadPartition(fixture.BootstrapServers, topic, p, Bound))
            .ToList();
        AssertSameRecords(expected, perPartition);
    }

    [Fact]
    public void ReadPartitionOfAnEmptyPartitionIsEmpty()
    {
        var topic = fixture.CreateTopic(2, "empty");
        Assert.Empty(RecordReader.ReadPartition(fixture.BootstrapServers, topic, 1, Bound));
    }

    [Fact]
    public void BrokerDownFailsMetadataRequestsAndBrokerUpRestoresThem()
    {
        using var cluster = MockCluster.Start(1);
        using var admin = CreateAdmin(cluster.BootstrapServers);
        Assert.Single(admin.GetMetadata(Bound).Brokers); // connected

        cluster.SetBrokerDown(1); // closes the open connection and refuses new ones
        var e = Assert.Throws<KafkaException>(() => admin.GetMetadata(TimeSpan.FromSeconds(3)));
        output.WriteLine($"metadata while broker 1 is down: {e.Error.Code} ({e.Error.Reason})");

        cluster.SetBrokerUp(1);
        Assert.Single(admin.GetMetadata(Bound).Brokers);
    }

    [Fact]
    public void RequestTrackingSeesProduceRequestsOnThePartitionLeader()
    {
        using var cluster = MockCluster.Start(3);
        const string topic = "tracked";
        cluster.CreateTopic(topic, 1);
        cluster.SetPartitionLeader(topic, 0, 2);
        cluster.StartRequestTracking();

        ProduceAndFlush(cluster.BootstrapServers, topic, 20);
        var requests = cluster.StopRequestTracking();
        Assert.Empty(cluster.GetRequests()); // librdkafka 2.16 discards them on stop (documented quirk)
        foreach (var r in requests)
        {
            output.WriteLine($"broker {r.BrokerId} {r.Api} at {r.TimestampMicros} µs");
        }

        var produce = requests.Where(r => r.Api == KafkaApiKey.Produce).ToList();
        Assert.NotEmpty(produce);
        Assert.All(produce, r => Assert.Equal(2, r.BrokerId));
        Assert.Contains(requests, r => r.Api == KafkaApiKey.Metadata);
        Assert.Equal(requests.Select(r => r.TimestampMicros).Order(), requests.Select(r => r.TimestampMicros));
    }

    [Fact]
    public void ClearRequestsForgetsWhatWasTracked()
    {
        using var cluster = MockCluster.Start(1);
        cluster.CreateTopic("cleared", 1);
        cluster.StartRequestTracking();
        ProduceAndFlush(cluster.BootstrapServers, "cleared", 1);
        Assert.Contains(cluster.GetRequests(), r => r.Api == KafkaApiKey.Produce);

        cluster.ClearRequests();
        Assert.DoesNotContain(cluster.GetRequests(), r => r.Api == KafkaApiKey.Produce);
    }

    [Fact]
    public void PushedProduceErrorsAreReturnedAndRetried()
    {
        using var cluster = MockCluster.Start(1);
        const string topic = "errors";
        cluster.CreateTopic(topic, 1);
        const short notEnoughReplicas = 19; // retriable
        cluster.PushRequestErrors(KafkaApiKey.Produce, notEnoughReplicas, notEnoughReplicas);
        cluster.StartRequestTracking();

        ProduceAndFlush(cluster.BootstrapServers, topic, 1);

        // One record: two failed attempts, then the one that succeeded.
        Assert.Equal(3, cluster.GetRequests().Count(r => r.Api == KafkaApiKey.Produce));
        Assert.Single(RecordReader.ReadPartition(cluster.BootstrapServers, topic, 0, Bound));
    }

    [Fact]
    public void SetApiVersionLimitsTheAdvertisedRangeAndConfluentStillProduces()
    {
        using var cluster = MockCluster.Start(3);
        var before = RawApiVersionsV0(cluster.BootstrapServers.Split(',')[0]);
        Assert.Equal((0, 10), before[0]);  // Produce v0-10 (librdkafka 2.16 mock)
        Assert.Equal((0, 13), before[3]);  // Metadata v0-13

        cluster.SetApiVersion(KafkaApiKey.Produce, 3, 7);
        var after = RawApiVersionsV0(cluster.BootstrapServers.Split(',')[1]);
        Assert.Equal((3, 7), after[0]);
        Assert.Equal(before[3], after[3]);

        const string topic = "versions";
        cluster.CreateTopic(topic, 3);
        cluster.StartRequestTracking();
        ProduceAndFlush(cluster.BootstrapServers, topic, 30);
        Assert.Contains(cluster.GetRequests(), r => r.Api == KafkaApiKey.Produce);
        Assert.Equal(30, RecordReader.ReadAll(cluster.BootstrapServers, topic, 30, Bound).Count);
    }

    [Fact]
    public void ApiVersionsV3IsRejectedWithUnsupportedVersion()
    {
        using var cluster = MockCluster.Start(1);
        // Request header v2 (client id "raw", no tags); body v3: compact strings "abc" / "1.0", no tags.
        byte[] request = [0, 18, 0, 3, 0, 0, 0, 9, 0, 3, (byte)'r', (byte)'a', (byte)'w', 0,
            4, (byte)'a', (byte)'b', (byte)'c', 4, (byte)'1', (byte)'.', (byte)'0', 0];
        var body = RawRoundTrip(cluster.BootstrapServers, request);
        output.WriteLine($"ApiVersions v3 response (after the size): {Convert.ToHexString(body)}");

        Assert.Equal(9, BinaryPrimitives.ReadInt32BigEndian(body));              // response header v0: correlation id only
        Assert.Equal(35, BinaryPrimitives.ReadInt16BigEndian(body.AsSpan(4)));  // UNSUPPORTED_VERSION
    }

    [Fact]
    public void SetTopicErrorIsReportedInMetadata()
    {
        var topic = fixture.CreateTopic(1, "topic-error");
        fixture.Cluster.SetTopicError(topic, (short)ErrorCode.TopicAuthorizationFailed);
        try
        {
            using var admin = CreateAdmin(fixture.BootstrapServers);
            Assert.Equal(ErrorCode.TopicAuthorizationFailed, admin.GetMetadata(topic, Bound).Topics.Single().Error.Code);
        }
        finally
        {
            fixture.Cluster.SetTopicError(topic, 0);
        }

        using var admin2 = CreateAdmin(fixture.BootstrapServers);
        Assert.Equal(ErrorCode.NoError, admin2.GetMetadata(topic, Bound).Topics.Single().Error.Code);
    }

    private static void AssertSameRecords(List<ConsumedRecord> expected, IReadOnlyList<ConsumedRecord> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            var (e, a) = (expected[i], actual[i]);
            Assert.Equal(e.Topic, a.Topic);
            Assert.Equal(e.Partition, a.Partition);
            Assert.Equal(e.Offset, a.Offset);
            Assert.Equal(e.Key, a.Key);
            Assert.Equal(e.Value, a.Value);
            Assert.Equal(e.TimestampMs, a.TimestampMs);
            Assert.Equal(e.TimestampType, a.TimestampType);
            Assert.Equal(e.Headers.Count, a.Headers.Count);
            for (var h = 0; h < e.Headers.Count; h++)
            {
                Assert.Equal(e.Headers[h].Key, a.Headers[h].Key);
                Assert.Equal(e.Headers[h].Value, a.Headers[h].Value);
            }
        }
    }

    private static IProducer<byte[]?, byte[]?> CreateProducer(string bootstrapServers)
    {
        ConfluentLoader.EnsureLoaded();
        return new ProducerBuilder<byte[]?, byte[]?>(new ProducerConfig
        {
            BootstrapServers = bootstrapServers,
            Acks = Acks.All,
            LingerMs = 5,
            Partitioner = Partitioner.Murmur2Random,
        })
            .SetKeySerializer(Serializers.ByteArray!)
            .SetValueSerializer(Serializers.ByteArray!)
            .SetLogHandler(static (_, _) => { })
            .Build();
    }

    private static IAdminClient CreateAdmin(string bootstrapServers)
    {
        ConfluentLoader.EnsureLoaded();
        return new AdminClientBuilder(new AdminClientConfig
        {
            BootstrapServers = bootstrapServers,
            ReconnectBackoffMaxMs = 500,
        })
            .SetLogHandler(static (_, _) => { })
            .SetErrorHandler(static (_, _) => { })
            .Build();
    }

    private static void ProduceAndFlush(string bootstrapServers, string topic, int count)
    {
        using var producer = CreateProducer(bootstrapServers);
        var errors = new List<Error>();
        for (var i = 0; i < count; i++)
        {
            producer.Produce(topic, new Message<byte[]?, byte[]?> { Key = [(byte)i], Value = [(byte)i, 42] }, r =>
            {
                if (r.Error.IsError)
                {
                    lock (errors)
                    {
                        errors.Add(r.Error);
                    }
                }
            });
        }

        Assert.Equal(0, producer.Flush(Bound)); // bound on the wait: nothing left in flight
        Assert.Empty(errors);
    }

    /// <summary>Sends one size-prefixed request to the first endpoint; returns the response after its size.</summary>
    private static byte[] RawRoundTrip(string endpoints, byte[] request)
    {
        var endpoint = endpoints.Split(',')[0];
        var colon = endpoint.LastIndexOf(':');
        using var client = new TcpClient();
        client.Connect(endpoint[..colon], int.Parse(endpoint[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture));
        using var stream = client.GetStream();
        stream.ReadTimeout = (int)Bound.TotalMilliseconds; // bounds the wait

        var size = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(size, request.Length);
        stream.Write(size);
        stream.Write(request);

        stream.ReadExactly(size);
        var body = new byte[BinaryPrimitives.ReadInt32BigEndian(size)];
        stream.ReadExactly(body);
        return body;
    }

    /// <summary>Sends an ApiVersions v0 request by hand; returns api key → (min, max).</summary>
    private static Dictionary<short, (short Min, short Max)> RawApiVersionsV0(string endpoint)
    {
        // Request header v1: api key 18, version 0, correlation id 7, client id "raw"; empty v0 body.
        byte[] request = [0, 18, 0, 0, 0, 0, 0, 7, 0, 3, (byte)'r', (byte)'a', (byte)'w'];
        var body = RawRoundTrip(endpoint, request);

        Assert.Equal(7, BinaryPrimitives.ReadInt32BigEndian(body));      // correlation id
        Assert.Equal(0, BinaryPrimitives.ReadInt16BigEndian(body.AsSpan(4))); // error code
        var count = BinaryPrimitives.ReadInt32BigEndian(body.AsSpan(6));
        var result = new Dictionary<short, (short, short)>();
        for (var i = 0; i < count; i++)
        {
            var at = 10 + (i * 6);
            result[BinaryPrimitives.ReadInt16BigEndian(body.AsSpan(at))] =
                (BinaryPrimitives.ReadInt16BigEndian(body.AsSpan(at + 2)), BinaryPrimitives.ReadInt16BigEndian(body.AsSpan(at + 4)));
        }

        return result;
    }
}
