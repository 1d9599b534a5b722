using System.Text;
using Samsa.IntegrationTests.Infrastructure;
using Samsa.Testing;
using Samsa.Testing.Proxy;
using Xunit.Abstractions;

namespace Samsa.IntegrationTests.Oracle;

/// <summary>
/// The delivery rules of docs/DESIGN.md ("Sequence and epoch rules") against the oracle: Samsa's producer →
/// <see cref="KafkaProxy"/> → mock cluster, with <see cref="KafkaProxy.EnforceSequenceRules"/> on, so that a
/// batch the mock stores out of sequence (it does not check an idempotent producer's sequences) reaches the
/// producer as the OUT_OF_ORDER_SEQUENCE_NUMBER a real broker would answer. Every acknowledged record must be
/// in the log a real broker would hold exactly once, in send order.
/// </summary>
public sealed class DeliveryScenarioTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Bound = OracleHarness.Bound;

    private static ProducerOptions Options(KafkaProxy proxy) => OracleHarness.Options(proxy, requestTimeout: TimeSpan.FromSeconds(2));

    /// <summary>The rules are enforced: a batch the mock stores out of sequence is refused toward the producer.</summary>
    private static (MockCluster Cluster, KafkaProxy Proxy) Start(string topic, int partitions = 1, int brokers = 3) =>
        OracleHarness.Start(topic, partitions, brokers, enforceSequenceRules: true);

    private static string Value(string topic, int i) => $"{topic}#{i:D5}";

    /// <summary>Sends <paramref name="count"/> unique keyless values (pausing every 10 so that faults land
    /// mid-stream) and waits (bounded) for every report.</summary>
    private static async Task<List<Outcome>> SendAllAsync(IProducer<string, string> producer, string topic, int count, Func<int, Task>? before = null)
    {
        var sends = new List<Task<DeliveryResult>>();
        for (var i = 0; i < count; i++)
        {
            if (before is not null)
            {
                await before(i);
            }

            sends.Add(producer.ProduceAsync(new ProducerRecord<string, string>(topic, Value(topic, i))).AsTask());
            if (i % 10 == 9)
            {
                await Task.Delay(10);
            }
        }

        try
        {
            await Task.WhenAll(sends).WaitAsync(Bound);
        }
        catch (KafkaException)
        {
            // Reported per record below; a TimeoutException (a hang) goes through.
        }

        return [.. sends.Select((t, i) => t.IsCompletedSuccessfully
            ? new Outcome(i, Value(topic, i), t.Result, null)
            : new Outcome(i, Value(topic, i), null, t.Exception?.InnerException as KafkaException ?? throw new InvalidOperationException($"#{i}: {t.Exception}")))];
    }

    private static List<AcknowledgedRecord> Acknowledged(string topic, IEnumerable<Outcome> outcomes) =>
        [.. outcomes.Where(o => o.Result is not null).Select(o => AcknowledgedRecord.Utf8(topic, o.Result!.Value.Partition, o.Value))];

    private static string Failures(IEnumerable<Outcome> outcomes) =>
        string.Join(Environment.NewLine, outcomes.Where(o => o.Error is not null).Take(20).Select(o => $"#{o.Index}: {o.Error!.GetType().Name} {o.Error.ErrorCode}: {o.Error.Message}"));

    /// <summary>The oracle's counts and every batch it did not simply store, for when an assertion needs explaining.</summary>
    private void Log(KafkaProxy proxy)
    {
        var report = proxy.Oracle.Report();
        output.WriteLine($"{report}; max Produce requests of one partition in flight: {proxy.MaxProduceInFlightPerPartition}");
        foreach (var b in report.Batches.Where(b => b.Verdict != BatchVerdict.Appended || b.CorrectedTo != 0).Take(80))
        {
            output.WriteLine(b.ToString());
        }
    }

    /// <summary>Waits until a real broker would hold <paramref name="batches"/> batches, so that a fault then
    /// lands in the middle of the stream rather than on the first batch (whose failure is a special case: no
    /// producer state yet).</summary>
    private static Task WaitForStoredBatchesAsync(KafkaProxy proxy, int batches) =>
        WaitUntilAsync(() => proxy.Oracle.Report().Stored >= batches, $"{batches} batches were not stored");

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Bound;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"HANG: {what} within {Bound}.");
            await Task.Delay(10);
        }
    }

    [Fact]
    public async Task RetriableErrorsWhileSeveralBatchesOfOnePartitionAreInFlightLoseAndRepeatNothing()
    {
        const string topic = "pipelined";
        var (cluster, proxy) = Start(topic);
        using var _ = cluster;
        await using var __ = proxy;
        // Answers take 150 ms: the producer sends a partition's next batches before the first is answered.
        proxy.SetLatency(1, TimeSpan.FromMilliseconds(150));
        await using var producer = new ProducerBuilder<string, string>(Options(proxy)).SetCloseTimeout(TimeSpan.FromSeconds(15)).Build();

        var outcomes = await SendAllAsync(producer, topic, 400, async i =>
        {
            if (i == 200)
            {
                await WaitForStoredBatchesAsync(proxy, 2);
                cluster.PushRequestErrors(KafkaApiKey.Produce, 6, 7, 6); // NOT_LEADER_OR_FOLLOWER, REQUEST_TIMED_OUT
            }
        });

        Log(proxy);
        Assert.True(outcomes.All(o => o.Error is null), Failures(outcomes));
        Assert.InRange(proxy.MaxProduceInFlightPerPartition, 2, 5); // pipelined, within max.in.flight (5)
        var report = proxy.Oracle.Report();
        var errors = report.Batches.Where(b => b.Verdict == BatchVerdict.BrokerError && b.ErrorCode is 6 or 7).ToList();
        Assert.Equal(3, errors.Count); // one partition: one batch a request
        Assert.True(errors.All(b => b.Batch.BaseSequence > 0), "the errors were to hit the stream after its first batch");
        proxy.Oracle.Verify(Acknowledged(topic, outcomes));
        Assert.Empty(proxy.Errors);
    }

    [Fact]
    public async Task MessageTooLargeOnABatchOfSeveralRecordsSplitsItAndStoresEveryRecordInOrder()
    {
        const string topic = "split";
        var (cluster, proxy) = Start(topic);
        using var _ = cluster;
        await using var __ = proxy;
        var logger = new ListLogger();
        // A long linger gathers the records sent at once into one full batch.
        var options = Options(proxy) with { Linger = TimeSpan.FromMilliseconds(200) };
        await using var producer = new ProducerBuilder<string, string>(options).SetLogger(logger).SetCloseTimeout(TimeSpan.FromSeconds(15)).Build();
        cluster.PushRequestErrors(KafkaApiKey.Produce, 10); // the first Produce request: MESSAGE_TOO_LARGE

        var sends = Enumerable.Range(0, 30).Select(i => producer.ProduceAsync(new ProducerRecord<string, string>(topic, Value(topic, i))).AsTask()).ToList();
        var results = await Task.WhenAll(sends).WaitAsync(Bound);

        Log(proxy);
        var report = proxy.Oracle.Report();
        var refused = Assert.Single(report.Batches, b => b.ErrorCode == 10);
        Assert.True(refused.Batch.RecordCount > 1, refused.ToString());
        // Its first half went again with its first sequence and fewer records.
        Assert.Contains(report.Batches, b => b.Verdict == BatchVerdict.Appended && b.Batch.BaseSequence == refused.Batch.BaseSequence && b.Batch.RecordCount < refused.Batch.RecordCount);
        Assert.Contains(logger.Entries, e => e.EventId == SamsaLogEvents.BatchSplit);
        proxy.Oracle.Verify([.. results.Select((r, i) => AcknowledgedRecord.Utf8(topic, r.Partition, Value(topic, i)))]);
        Assert.Empty(proxy.Errors);
    }

    [Fact]
    public async Task ARecordErrorInTheMiddleOfAPipelineFailsOnlyThatBatchAndTheRecordsAfterItFollowWithoutAGap()
    {
        const string topic = "record-error";
        var (cluster, proxy) = Start(topic);
        using var _ = cluster;
        await using var __ = proxy;
        proxy.SetLatency(1, TimeSpan.FromMilliseconds(150));
        await using var producer = new ProducerBuilder<string, string>(Options(proxy)).SetCloseTimeout(TimeSpan.FromSeconds(15)).Build();

        // INVALID_RECORD is not retriable (error-codes.csv): the batch fails for good, surely not written.
        var outcomes = await SendAllAsync(producer, topic, 300, async i =>
        {
            if (i == 150)
            {
                await WaitForStoredBatchesAsync(proxy, 2);
                cluster.PushRequestErrors(KafkaApiKey.Produce, 87);
            }
        });

        Log(proxy);
        var failed = outcomes.Where(o => o.Error is not null).ToList();
        var refused = Assert.Single(proxy.Oracle.Report().Batches, b => b.ErrorCode == 87);
        Assert.True(refused.Batch.BaseSequence > 0, "the error was to hit the stream after its first batch");
        Assert.True(failed.All(o => o.Error is KafkaBrokerException { ErrorCode: ErrorCode.InvalidRecord }), Failures(outcomes));
        // Exactly the refused batch's records failed: as many, and consecutive.
        Assert.Equal(refused.Batch.Records.Select(r => r.ValueText), failed.Select(o => o.Value));
        Assert.InRange(proxy.MaxProduceInFlightPerPartition, 2, 5);
        // The batches behind it took its sequences: a real broker stores them (no OUT_OF_ORDER left unanswered).
        proxy.Oracle.Verify(Acknowledged(topic, outcomes));
        Assert.Empty(proxy.Errors);
    }

    [Fact]
    public async Task DuplicateSequenceNumberIsReportedAsStoredNeverFailed()
    {
        const string topic = "duplicate";
        var (cluster, proxy) = Start(topic);
        using var _ = cluster;
        await using var __ = proxy;
        await using var producer = new ProducerBuilder<string, string>(Options(proxy)).SetCloseTimeout(TimeSpan.FromSeconds(15)).Build();
        var acknowledged = new List<AcknowledgedRecord>();
        async Task<DeliveryResult> SendAsync(string value)
        {
            var result = await producer.ProduceAsync(new ProducerRecord<string, string>(topic, value)).AsTask().WaitAsync(Bound);
            acknowledged.Add(AcknowledgedRecord.Utf8(topic, result.Partition, value));
            return result;
        }

        await SendAsync("before");
        // The broker stores the next batch but answers DUPLICATE_SEQUENCE_NUMBER, as a real broker does for a
        // batch it already has (a mock-pushed error would store nothing, which a real broker never answers 46 for).
        proxy.RewriteProduceErrors(1, 46);
        var duplicate = await SendAsync("answered-duplicate");
        for (var i = 0; i < 10; i++)
        {
            await SendAsync($"after-{i}");
        }

        Log(proxy);
        Assert.Equal(-1, duplicate.Offset); // stored, where unknown: the producer did not take the mock's offset
        proxy.Oracle.Verify(acknowledged);
        Assert.Empty(proxy.Errors);
    }

    [Fact]
    public async Task ThrottledAnswersHoldTheProducerBackWithoutFailingAnything()
    {
        const string topic = "throttled";
        var (cluster, proxy) = Start(topic, partitions: 3);
        using var _ = cluster;
        await using var __ = proxy;
        var logger = new ListLogger();
        await using var producer = new ProducerBuilder<string, string>(Options(proxy)).SetLogger(logger).SetCloseTimeout(TimeSpan.FromSeconds(15)).Build();

        proxy.ThrottleProduceResponses(5, TimeSpan.FromMilliseconds(300));
        var outcomes = await SendAllAsync(producer, topic, 200);

        Log(proxy);
        Assert.True(outcomes.All(o => o.Error is null), Failures(outcomes));
        Assert.Equal(5, proxy.ThrottledResponses);
        Assert.Contains(logger.Entries, e => e.EventId == SamsaLogEvents.Throttled && e.Message.Contains("throttled", StringComparison.Ordinal) && e.Message.Contains("300 ms", StringComparison.Ordinal));
        proxy.Oracle.Verify(Acknowledged(topic, outcomes));
        Assert.Empty(proxy.Errors);
    }

    /// <summary>
    /// A variant of ProxyOracleTests.ANewProducerIdWhileABatchIsUnresolvedDoesNotStoreItTwice with several
    /// batches of the timed-out partition in flight (pipelined, not one) when the other partition is told
    /// OUT_OF_ORDER_SEQUENCE_NUMBER and bumps its epoch; broker 1 stored them, but answers after request.timeout.ms.
    /// None of the pipelined batches may be re-stamped under the new epoch while its fate is unknown.
    /// </summary>
    [Fact]
    public async Task AnEpochBumpOnOnePartitionWhileSeveralBatchesOfAnotherAreUnresolvedStoresNothingTwice()
    {
        const string topic = "bump-pipelined";
        var (cluster, proxy) = Start(topic, partitions: 2); // partition 0 on broker 1, partition 1 on broker 2
        using var _ = cluster;
        await using var __ = proxy;
        var options = Options(proxy) with { Linger = TimeSpan.Zero, RequestTimeout = TimeSpan.FromSeconds(1) };
        await using var producer = new ProducerBuilder<string, string>(options).SetCloseTimeout(TimeSpan.FromSeconds(15)).Build();
        // Keyed by send order: the unresolved records are acknowledged concurrently, the oracle takes send order.
        var acknowledged = new SortedList<int, AcknowledgedRecord>();
        var sent = 0;
        async Task<DeliveryResult> SendAsync(int partition, string value)
        {
            var index = sent++;
            var result = await producer.ProduceAsync(new ProducerRecord<string, string>(topic, partition, null, value)).AsTask().WaitAsync(Bound);
            lock (acknowledged)
            {
                acknowledged.Add(index, AcknowledgedRecord.Utf8(topic, result.Partition, value));
            }

            return result;
        }

        await SendAsync(0, "p0-first");
        await SendAsync(1, "p1-first");

        proxy.Stall(1, TimeSpan.FromMilliseconds(2500));
        // Started one after another: the producer sends each as it comes, up to 5 in flight.
        var unresolved = new List<Task<DeliveryResult>>();
        for (var i = 0; i < 5; i++)
        {
            unresolved.Add(SendAsync(0, $"p0-unresolved-{i}"));
            await Task.Delay(20);
        }

        cluster.PushRequestErrors(KafkaApiKey.Produce, 45); // the next Produce to reach the mock: broker 2's
        await SendAsync(1, "p1-rejected-then-resent");
        await Task.WhenAll(unresolved).WaitAsync(Bound);
        await SendAsync(0, "p0-after");
        await SendAsync(1, "p1-after");

        // The late answers to the first copies of p0's unresolved batches must be in before the verdict:
        // each of them (however the records were batched) is judged twice, first copy and resend.
        bool LateAnswersIn()
        {
            var unresolvedBatches = proxy.Oracle.Report().Batches
                .Where(b => b.Batch.Partition == 0 && b.Batch.ProducerEpoch == 0 && b.Batch.BaseSequence >= 1)
                .GroupBy(b => b.Batch.BaseSequence)
                .ToList();
            return unresolvedBatches.Count > 0 && unresolvedBatches.All(g => g.Count() >= 2);
        }

        try
        {
            await WaitUntilAsync(LateAnswersIn, "the late answers of broker 1 did not arrive");
        }
        finally
        {
            Log(proxy);
        }

        Assert.True(proxy.MaxProduceInFlightPerPartition >= 2, $"max in flight per partition {proxy.MaxProduceInFlightPerPartition}: partition 0 was not pipelined");
        var report = proxy.Oracle.Report();
        var rejected = Assert.Single(report.Batches, b => b.Batch.Partition == 1 && b.ErrorCode == 45);
        // Partition 1 moved on: its batches after the rejection carry another epoch or producer id.
        Assert.Contains(report.Batches, b => b.Batch.Partition == 1 && b.Verdict == BatchVerdict.Appended &&
                                             (b.Batch.ProducerId, b.Batch.ProducerEpoch) != (rejected.Batch.ProducerId, rejected.Batch.ProducerEpoch));
        proxy.Oracle.Verify(acknowledged.Values);
        Assert.Empty(proxy.Errors);
    }

    /// <summary>
    /// The old leader takes a batch that was in flight when the partition moved (the mock stored it; the proxy
    /// holds its answer back): the next record goes through the new leader, and a real broker's log holds
    /// both once, in order. (That the old sender's answer wakes the new sender is pinned without a broker by
    /// SenderOwnershipTests.AnAnswerOnTheOldSenderWakesThePartitionsNewSender: here the metadata refresh may
    /// share the old leader's held connection, so the window cannot be forced.)
    /// </summary>
    [Fact]
    public async Task ARecordProducedWhileTheOldLeaderStillAnswersIsSentByTheNewOne()
    {
        const string topic = "moving";
        var (cluster, proxy) = Start(topic, partitions: 1, brokers: 2);
        using var _ = cluster;
        await using var __ = proxy;
        var options = Options(proxy) with
        {
            Linger = TimeSpan.Zero,
            MetadataMaxAge = TimeSpan.FromMilliseconds(50),
            RequestTimeout = TimeSpan.FromSeconds(10),
            DeliveryTimeout = TimeSpan.FromSeconds(30),
        };
        await using var producer = new ProducerBuilder<string, string>(options).SetCloseTimeout(TimeSpan.FromSeconds(15)).Build();
        await producer.ProduceAsync(new ProducerRecord<string, string>(topic, "warm-up")).AsTask().WaitAsync(Bound);

        // Broker 1's answers are held 1.5 s after the mock stored the batch (the mock checked leadership first).
        proxy.SetLatency(1, TimeSpan.FromMilliseconds(1500));
        var first = producer.ProduceAsync(new ProducerRecord<string, string>(topic, "first")).AsTask();
        var partition = new TopicPartition(topic, 0);
        await WaitUntilAsync(
            () => proxy.Oracle.Report().StoredRecords.TryGetValue(partition, out var log) && log.Any(r => r.ValueText == "first"),
            "the old leader did not store \"first\"");
        cluster.SetPartitionLeader(topic, 0, 2);
        await Task.Delay(100); // metadata is older than metadata.max.age.ms: the next call refreshes it and moves the partition
        var second = producer.ProduceAsync(new ProducerRecord<string, string>(topic, "second")).AsTask();

        // Bounds well below delivery.timeout.ms (30 s), which is when a stuck record would fail.
        await first.WaitAsync(TimeSpan.FromSeconds(10));
        var stored = await second.WaitAsync(TimeSpan.FromSeconds(10));

        Log(proxy);
        Assert.Equal(0, stored.Partition);
        proxy.Oracle.Verify([AcknowledgedRecord.Utf8(topic, 0, "warm-up"), AcknowledgedRecord.Utf8(topic, 0, "first"), AcknowledgedRecord.Utf8(topic, 0, "second")]);
        proxy.SetLatency(1, TimeSpan.Zero);
        var log = RecordReader.ReadPartition(proxy.BootstrapServers, topic, 0);
        Assert.Equal(["warm-up", "first", "second"], log.Select(r => Encoding.UTF8.GetString(r.Value!)));
        Assert.Empty(proxy.Errors);
    }

    private sealed record Outcome(int Index, string Value, DeliveryResult? Result, KafkaException? Error);
}
