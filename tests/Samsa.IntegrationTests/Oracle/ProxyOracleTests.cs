using System.Text;
using Samsa.IntegrationTests.Infrastructure;
using Samsa.Testing;
using Samsa.Testing.Proxy;
using Xunit.Abstractions;

namespace Samsa.IntegrationTests.Oracle;

/// <summary>
/// Samsa's producer → <see cref="KafkaProxy"/> → mock cluster: the oracle judges what a real broker would
/// have stored, and the proxy's faults make the producer time out, reconnect and resend. Each test has its
/// own cluster: faults and advertised ports are cluster-wide.
/// </summary>
public sealed class ProxyOracleTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Bound = OracleHarness.Bound;

    private static ProducerOptions Options(KafkaProxy proxy) => OracleHarness.Options(proxy, requestTimeout: TimeSpan.FromSeconds(1));

    /// <summary>Produces <paramref name="count"/> unique values, awaiting them in send order; returns the
    /// acknowledged ones (every one must be acknowledged).</summary>
    private static async Task<List<AcknowledgedRecord>> ProduceAsync(KafkaProxy proxy, string topic, int count, Func<int, Task>? before = null)
    {
        await using var producer = new ProducerBuilder<string, string>(Options(proxy)).SetCloseTimeout(TimeSpan.FromSeconds(15)).Build();
        var sends = new List<Task<DeliveryResult>>();
        for (var i = 0; i < count; i++)
        {
            if (before is not null)
            {
                await before(i);
            }

            sends.Add(producer.ProduceAsync(new ProducerRecord<string, string>(topic, $"k{i % 11}", $"{topic}#{i:D5}")).AsTask());
        }

        var results = await Task.WhenAll(sends).WaitAsync(Bound);
        return [.. results.Select((r, i) => AcknowledgedRecord.Utf8(r.Topic, r.Partition, $"{topic}#{i:D5}"))];
    }

    /// <summary>What the oracle judged (the first 60 batches), in the test's output, for when an assertion needs explaining.</summary>
    private void Log(KafkaProxy proxy)
    {
        var report = proxy.Oracle.Report();
        output.WriteLine(report.ToString());
        foreach (var b in report.Batches.Take(60))
        {
            output.WriteLine(b.ToString());
        }
    }

    private static (MockCluster Cluster, KafkaProxy Proxy) Start(string topic, int partitions = 3) =>
        OracleHarness.Start(topic, partitions, brokers: 3, enforceSequenceRules: false);

    [Fact]
    public async Task APlainRunIsCleanAndEveryConnectionGoesThroughTheProxy()
    {
        var (cluster, proxy) = Start("plain");
        using var _ = cluster;
        await using var __ = proxy;

        var acknowledged = await ProduceAsync(proxy, "plain", 300);

        Log(proxy);
        proxy.Oracle.Verify(acknowledged);
        var report = proxy.Oracle.Report();
        Assert.True(report.Stored > 3, report.ToString()); // several batches per partition, all judged
        Assert.Equal(0, report.Duplicates);
        Assert.Equal(300, report.StoredRecords.Values.Sum(r => r.Count));
        Assert.Empty(proxy.Errors);
        Assert.Equal(3, report.StoredRecords.Count); // every leader was reached through the proxy

        // The independent reader, also through the proxy (Metadata advertises its ports), sees the same log.
        var log = RecordReader.ReadAll(proxy.BootstrapServers, "plain", 300);
        Assert.Equal(acknowledged.Select(a => Encoding.UTF8.GetString(a.Value!)).Order(), log.Select(r => Encoding.UTF8.GetString(r.Value!)).Order());
    }

    [Theory]
    [InlineData((short)3)] // classic encoding, no log start offset in the answer
    [InlineData((short)8)] // classic, with record errors
    [InlineData((short)10)] // flexible, with tagged fields (the mock's highest)
    public async Task EveryProduceVersionIsDecoded(short maxVersion)
    {
        var topic = $"v{maxVersion}";
        var (cluster, proxy) = Start(topic);
        using var _ = cluster;
        await using var __ = proxy;
        cluster.SetApiVersion(KafkaApiKey.Produce, 0, maxVersion);

        var acknowledged = await ProduceAsync(proxy, topic, 60);

        proxy.Oracle.Verify(acknowledged);
        Assert.Equal(60, proxy.Oracle.Report().StoredRecords.Values.Sum(r => r.Count));
        Assert.Empty(proxy.Errors);
    }

    [Fact]
    public async Task GzipBatchesAreDecodedAndOtherCodecsAreCountedByTheirHeader()
    {
        var (cluster, proxy) = Start("zipped", partitions: 1);
        using var _ = cluster;
        await using var __ = proxy;

        var options = Options(proxy) with { CompressionType = CompressionType.Gzip };
        await using (var producer = new ProducerBuilder<string, string>(options).Build())
        {
            await Task.WhenAll(Enumerable.Range(0, 20).Select(i => producer.ProduceAsync(new ProducerRecord<string, string>("zipped", $"gz-{i}")).AsTask())).WaitAsync(Bound);
        }

        var gzip = proxy.Oracle.Report();
        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"gz-{i}"), gzip.StoredRecords[new TopicPartition("zipped", 0)].Select(r => r.ValueText));

        await using (var producer = new ProducerBuilder<string, string>(Options(proxy) with { CompressionType = CompressionType.Lz4 }).Build())
        {
            await producer.ProduceAsync(new ProducerRecord<string, string>("zipped", "lz4")).AsTask().WaitAsync(Bound);
        }

        var lz4 = proxy.Oracle.Report().Batches[^1];
        Assert.True(lz4.Batch.IsCompressed);
        Assert.Equal(1, lz4.Batch.RecordCount);
        Assert.Equal(BatchVerdict.Appended, lz4.Verdict); // a second producer id, starting at 0
        Assert.Empty(proxy.Errors);
    }

    [Fact]
    public async Task ALostProduceAnswerIsResentAndARealBrokerWouldDeDuplicateIt()
    {
        var (cluster, proxy) = Start("lost", partitions: 1);
        using var _ = cluster;
        await using var __ = proxy;
        proxy.DropResponses(KafkaApiKey.Produce, 1);

        var acknowledged = await ProduceAsync(proxy, "lost", 50);

        Assert.Equal(1, proxy.DroppedResponses);
        var report = proxy.Oracle.Report();
        // The mock stored the batch twice; the resend kept its producer id, epoch and sequence, so a real
        // broker would have answered it as a duplicate.
        Assert.True(report.Duplicates >= 1, report.ToString());
        Log(proxy);
        proxy.Oracle.Verify(acknowledged);
        Assert.Empty(proxy.Errors);
    }

    [Fact]
    public async Task AConnectionClosedBeforeTheAnswerIsResentAndARealBrokerWouldDeDuplicateIt()
    {
        var (cluster, proxy) = Start("closed", partitions: 1);
        using var _ = cluster;
        await using var __ = proxy;
        proxy.CloseAfterNextRequest(KafkaApiKey.Produce);

        var acknowledged = await ProduceAsync(proxy, "closed", 50);

        Assert.Equal(1, proxy.ClosedConnections);
        Assert.True(proxy.Connections >= 2, $"{proxy.Connections} connections"); // the producer reconnected
        Assert.True(proxy.Oracle.Report().Duplicates >= 1, proxy.Oracle.Report().ToString());
        Log(proxy);
        proxy.Oracle.Verify(acknowledged);
        Assert.Empty(proxy.Errors);
    }

    [Fact]
    public async Task LatencyAndAStallLoseNothingAndStayInOrder()
    {
        var (cluster, proxy) = Start("slow");
        using var _ = cluster;
        await using var __ = proxy;
        proxy.SetLatency(-1, TimeSpan.FromMilliseconds(20));

        var acknowledged = await ProduceAsync(proxy, "slow", 200, async i =>
        {
            if (i == 100)
            {
                // Once every partition has had a batch stored (connections up, producer id known), stall
                // broker 1 for longer than request.timeout.ms: its requests time out and are resent, while the
                // stalled ones still reach the broker afterwards.
                var deadline = DateTime.UtcNow.AddSeconds(30);
                while (proxy.Oracle.Report().StoredRecords.Count < 3 && DateTime.UtcNow < deadline)
                {
                    await Task.Delay(10);
                }

                proxy.Stall(1, TimeSpan.FromMilliseconds(1500));
            }

            if (i % 20 == 19)
            {
                await Task.Delay(5);
            }
        });

        Log(proxy);
        Assert.True(proxy.Oracle.Report().Duplicates >= 1, proxy.Oracle.Report().ToString()); // the stall made the producer resend
        proxy.Oracle.Verify(acknowledged);
        Assert.Empty(proxy.Errors);
    }

    [Fact]
    public async Task LostAnswersOnSeveralPartitionsAndALeaderMoveLeaveARealBrokersLogExact()
    {
        var (cluster, proxy) = Start("moves", partitions: 6);
        using var _ = cluster;
        await using var __ = proxy;

        var acknowledged = await ProduceAsync(proxy, "moves", 600, i =>
        {
            if (i == 100)
            {
                proxy.DropResponses(KafkaApiKey.Produce, 4);
            }

            if (i == 300)
            {
                cluster.SetPartitionLeader("moves", 0, 2);
                proxy.CloseAfterNextRequest(KafkaApiKey.Produce);
            }

            return i % 20 == 19 ? Task.Delay(5) : Task.CompletedTask;
        });

        Assert.Equal(4, proxy.DroppedResponses);
        Log(proxy);
        proxy.Oracle.Verify(acknowledged);
        Assert.Empty(proxy.Errors);
    }

    [Fact]
    public async Task ABatchWhoseAnswersAreLostUntilItExpiresDoesNotCostTheRecordsAfterIt()
    {
        // The expired batch WAS stored (only its answers were lost): whatever the producer does with its
        // sequence afterwards (continue, or bump the epoch), a real broker must store every later record.
        var (cluster, proxy) = Start("expired", partitions: 1);
        using var _ = cluster;
        await using var __ = proxy;
        var options = Options(proxy) with { RequestTimeout = TimeSpan.FromMilliseconds(500), DeliveryTimeout = TimeSpan.FromSeconds(2) };
        await using var producer = new ProducerBuilder<string, string>(options).SetCloseTimeout(TimeSpan.FromSeconds(15)).Build();

        proxy.DropResponses(KafkaApiKey.Produce, 1000);
        await Assert.ThrowsAnyAsync<KafkaException>(() => producer.ProduceAsync(new ProducerRecord<string, string>("expired", "lost")).AsTask().WaitAsync(Bound));
        proxy.DropResponses(KafkaApiKey.Produce, 0);

        var acknowledged = new List<AcknowledgedRecord>();
        for (var i = 0; i < 20; i++)
        {
            var result = await producer.ProduceAsync(new ProducerRecord<string, string>("expired", $"after-{i}")).AsTask().WaitAsync(Bound);
            acknowledged.Add(AcknowledgedRecord.Utf8(result.Topic, result.Partition, $"after-{i}"));
        }

        Assert.True(proxy.DroppedResponses >= 1);
        Log(proxy);
        proxy.Oracle.Verify(acknowledged);
        Assert.Empty(proxy.Errors);
    }

    [Fact]
    public async Task ANewProducerIdWhileABatchIsUnresolvedDoesNotStoreItTwice()
    {
        // Partition 0 (broker 1) has a batch in flight whose fate the producer cannot know (broker 1 is
        // stalled past request.timeout.ms; the stalled request still reaches the broker afterwards). Meanwhile
        // partition 1 (broker 2) gets OUT_OF_ORDER_SEQUENCE_NUMBER, so the producer takes a new epoch or id.
        // Re-stamping the unresolved batch under the new id would make a real broker store it twice.
        var (cluster, proxy) = Start("bump", partitions: 2);
        using var _ = cluster;
        await using var __ = proxy;
        await using var producer = new ProducerBuilder<string, string>(Options(proxy)).SetCloseTimeout(TimeSpan.FromSeconds(15)).Build();
        var acknowledged = new List<AcknowledgedRecord>();
        async Task SendAsync(int partition, string value)
        {
            var result = await producer.ProduceAsync(new ProducerRecord<string, string>("bump", partition, null, value)).AsTask().WaitAsync(Bound);
            lock (acknowledged)
            {
                acknowledged.Add(AcknowledgedRecord.Utf8(result.Topic, result.Partition, value));
            }
        }

        await SendAsync(0, "p0-first");
        await SendAsync(1, "p1-first");

        proxy.Stall(1, TimeSpan.FromSeconds(2));
        var unresolved = SendAsync(0, "p0-unresolved");
        cluster.PushRequestErrors(KafkaApiKey.Produce, 45); // the next Produce to reach the mock: broker 2's
        await SendAsync(1, "p1-rejected-then-resent");
        await unresolved;
        await SendAsync(0, "p0-after");
        await SendAsync(1, "p1-after");

        Log(proxy);
        proxy.Oracle.Verify(acknowledged); // per partition, in the order they were sent
        Assert.Empty(proxy.Errors);
    }

    [Fact]
    public async Task AnswersOwedToAClientThatHungUpStillReachTheOracle()
    {
        var (cluster, proxy) = Start("hangup", partitions: 1);
        using var _ = cluster;
        await using var __ = proxy;
        await using (var client = await RawProducer.ConnectAsync(proxy.BootstrapServers.Split(',')[0]))
        {
            await client.SendAsync("hangup", 0, producerId: 3000, epoch: 0, baseSequence: 0, "x");
        }

        // Bounded wait: the proxy keeps the broker side open until the answer is in.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (proxy.Oracle.Report().Batches.Count == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        var judged = Assert.Single(proxy.Oracle.Report().Batches);
        Assert.Equal(BatchVerdict.Appended, judged.Verdict);
    }

    [Fact]
    public async Task EnforcedRulesAndRewrittenAnswersReachTheClient()
    {
        var (cluster, proxy) = Start("enforced", partitions: 1); // partition 0 led by broker 1
        using var _ = cluster;
        await using var __ = proxy;
        proxy.EnforceSequenceRules = true;
        await using (var client = await RawProducer.ConnectAsync(proxy.BootstrapServers.Split(',')[0]))
        {
            Assert.Equal(0, await client.ProduceAsync("enforced", 0, producerId: 2000, epoch: 0, baseSequence: 0, "a"));
            Assert.Equal(45, await client.ProduceAsync("enforced", 0, producerId: 2000, epoch: 0, baseSequence: 5, "gap")); // OUT_OF_ORDER_SEQUENCE_NUMBER
            proxy.RewriteProduceErrors(1, 46);
            Assert.Equal(46, await client.ProduceAsync("enforced", 0, producerId: 2000, epoch: 0, baseSequence: 1, "b")); // stored all the same
            Assert.Equal(0, await client.ProduceAsync("enforced", 0, producerId: 2000, epoch: 0, baseSequence: 2, "c"));
        }

        var report = proxy.Oracle.Report();
        Assert.Equal([BatchVerdict.Appended, BatchVerdict.OutOfOrder, BatchVerdict.Appended, BatchVerdict.Appended], report.Batches.Select(b => b.Verdict));
        Assert.Equal(45, report.Batches[1].CorrectedTo);
        Assert.True(report.IsClean); // the client was told: no violation
        proxy.Oracle.Verify([AcknowledgedRecord.Utf8("enforced", 0, "a"), AcknowledgedRecord.Utf8("enforced", 0, "b"), AcknowledgedRecord.Utf8("enforced", 0, "c")]);
        Assert.Empty(proxy.Errors);
    }

    [Fact]
    public async Task TheOracleFlagsAResendUnderANewProducerIdAndAGap()
    {
        // A hand-written client: the mock stores every one of these batches; a real broker would have
        // stored the first two both (different producer ids) and rejected the gap.
        var (cluster, proxy) = Start("raw", partitions: 1); // partition 0 led by broker 1
        using var _ = cluster;
        await using var __ = proxy;
        await using (var client = await RawProducer.ConnectAsync(proxy.BootstrapServers.Split(',')[0]))
        {
            Assert.Equal(0, await client.ProduceAsync("raw", 0, producerId: 1000, epoch: 0, baseSequence: 0, "a", "b"));
            Assert.Equal(0, await client.ProduceAsync("raw", 0, producerId: 1001, epoch: 0, baseSequence: 0, "a", "b"));
            Assert.Equal(0, await client.ProduceAsync("raw", 0, producerId: 1001, epoch: 0, baseSequence: 5, "c"));
        }

        var report = proxy.Oracle.Report();
        Assert.Equal(2, report.Stored);
        Assert.Equal(1, report.OutOfOrder);
        Assert.False(report.IsClean);

        AcknowledgedRecord[] acknowledged = [AcknowledgedRecord.Utf8("raw", 0, "a"), AcknowledgedRecord.Utf8("raw", 0, "b"), AcknowledgedRecord.Utf8("raw", 0, "c")];
        var e = Assert.Throws<IdempotenceViolationException>(() => proxy.Oracle.Verify(acknowledged));
        Assert.Contains("'a' would be stored 2 times", e.Message, StringComparison.Ordinal);
        Assert.Contains("'c' would not be in a real broker's log", e.Message, StringComparison.Ordinal);
        Assert.Contains("expected sequence 2", e.Message, StringComparison.Ordinal);
        Assert.Empty(proxy.Errors);
    }
}
