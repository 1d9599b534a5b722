using Samsa.IntegrationTests.Infrastructure;
using Samsa.IntegrationTests.Oracle;
using Samsa.Testing;
using Samsa.Testing.Proxy;

namespace Samsa.IntegrationTests.Producer;

/// <summary>
/// A failed record says whether it may be in the log all the same (<see cref="PersistenceStatus"/>), on
/// the exception of <c>ProduceAsync</c> and in the delivery report: a request that went out and got no
/// answer leaves it possibly persisted; a record refused before sending, or refused by the broker, is
/// not persisted. With no retries, the first attempt's outcome is the record's.
/// </summary>
public sealed class PersistenceStatusTests
{
    private static readonly TimeSpan Bound = OracleHarness.Bound;

    private static ProducerOptions Options(KafkaProxy proxy, Acks acks = Acks.All) => OracleHarness.Options(proxy, requestTimeout: TimeSpan.FromSeconds(2)) with
    {
        Acks = acks,
        EnableIdempotence = false,
        Retries = 0,
        Linger = TimeSpan.Zero,
    };

    /// <summary>One broker with <paramref name="topic"/> (one partition) behind a proxy; its oracle does not enforce the
    /// sequence rules, idempotence being off.</summary>
    private static (MockCluster Cluster, KafkaProxy Proxy) Start(string topic) =>
        OracleHarness.Start(topic, partitions: 1, brokers: 1, enforceSequenceRules: false);

    /// <summary>Produces <paramref name="value"/> (key "k") to <paramref name="topic"/> and waits for its result.</summary>
    private static Task<DeliveryResult> ProduceAsync(IProducer<string, string> producer, string topic, string value) =>
        producer.ProduceAsync(new ProducerRecord<string, string>(topic, "k", value)).AsTask().WaitAsync(Bound);

    [Fact]
    public async Task AConnectionLostAfterTheRequestWasSentLeavesTheRecordPossiblyPersisted()
    {
        var (cluster, proxy) = Start("persist-lost");
        using var _ = cluster;
        await using var __ = proxy;
        await using var producer = new ProducerBuilder<string, string>(Options(proxy)).Build();
        var first = await ProduceAsync(producer, "persist-lost", "first");
        Assert.Equal(PersistenceStatus.Persisted, first.Status);

        proxy.CloseAfterNextRequest(KafkaApiKey.Produce);
        var error = await Assert.ThrowsAsync<KafkaNetworkException>(
            () => ProduceAsync(producer, "persist-lost", "lost"));
        Assert.Equal(PersistenceStatus.PossiblyPersisted, error.PersistenceStatus);
        Assert.Equal(ErrorCode.LocalTransport, error.ErrorCode);

        // The broker did store it: "possibly" was the right answer, "not persisted" would have invited a duplicate.
        Assert.Equal(2, proxy.Oracle.Report().Batches.Count(b => b.Verdict == BatchVerdict.Appended));

        proxy.CloseAfterNextRequest(KafkaApiKey.Produce);
        var report = await ProduceWithHandler(producer, new ProducerRecord<string, string>("persist-lost", "k", "lost again"));
        Assert.IsType<KafkaNetworkException>(report.Error);
        Assert.Equal(PersistenceStatus.PossiblyPersisted, report.Status);
    }

    [Fact]
    public async Task ALostAnswerThatTimesOutLeavesTheRecordPossiblyPersisted()
    {
        var (cluster, proxy) = Start("persist-timeout");
        using var _ = cluster;
        await using var __ = proxy;
        await using var producer = new ProducerBuilder<string, string>(Options(proxy) with { RequestTimeout = TimeSpan.FromMilliseconds(500) }).Build();
        await ProduceAsync(producer, "persist-timeout", "first");

        proxy.DropResponses(KafkaApiKey.Produce, 1);
        var report = await ProduceWithHandler(producer, new ProducerRecord<string, string>("persist-timeout", "k", "unanswered"));
        var error = Assert.IsType<KafkaTimeoutException>(report.Error);
        Assert.Equal(ErrorCode.LocalTimedOut, error.ErrorCode);
        Assert.Equal(PersistenceStatus.PossiblyPersisted, report.Status);
        Assert.Equal(PersistenceStatus.PossiblyPersisted, error.PersistenceStatus);
    }

    [Fact]
    public async Task ABrokerRefusalLeavesTheRecordNotPersisted()
    {
        var (cluster, proxy) = Start("persist-refused");
        using var _ = cluster;
        await using var __ = proxy;
        await using var producer = new ProducerBuilder<string, string>(Options(proxy)).Build();
        await ProduceAsync(producer, "persist-refused", "first");

        cluster.PushRequestErrors(KafkaApiKey.Produce, 87); // INVALID_RECORD: a definite refusal
        var error = await Assert.ThrowsAsync<KafkaBrokerException>(
            () => ProduceAsync(producer, "persist-refused", "refused"));
        Assert.Equal(ErrorCode.InvalidRecord, error.ErrorCode);
        Assert.Equal(PersistenceStatus.NotPersisted, error.PersistenceStatus);
    }

    [Fact]
    public async Task ARecordRefusedBeforeSendingIsNotPersisted()
    {
        var (cluster, proxy) = Start("persist-early");
        using var _ = cluster;
        await using var __ = proxy;
        await using var producer = new ProducerBuilder<string, string>(Options(proxy) with { MaxRequestSize = 2_000 }).Build();

        var report = await ProduceWithHandler(producer, new ProducerRecord<string, string>("persist-early", "k", new string('x', 5_000)));
        var error = Assert.IsType<RecordTooLargeException>(report.Error);
        Assert.Equal(PersistenceStatus.NotPersisted, report.Status);
        Assert.Equal(PersistenceStatus.NotPersisted, error.PersistenceStatus);

        var invalid = await Assert.ThrowsAsync<InvalidRecordException>(
            () => producer.ProduceAsync(new ProducerRecord<string, string>("persist-early", 7, "k", "no such partition")).AsTask().WaitAsync(Bound));
        Assert.Equal(PersistenceStatus.NotPersisted, invalid.PersistenceStatus);
    }

    [Fact]
    public async Task WithAcksZeroADeliveredRecordIsOnlyPossiblyPersisted()
    {
        var (cluster, proxy) = Start("persist-acks0");
        using var _ = cluster;
        await using var __ = proxy;
        await using var producer = new ProducerBuilder<string, string>(Options(proxy, Acks.None)).Build();

        var result = await ProduceAsync(producer, "persist-acks0", "fire and forget");
        Assert.Equal(PersistenceStatus.PossiblyPersisted, result.Status);
        var report = await ProduceWithHandler(producer, new ProducerRecord<string, string>("persist-acks0", "k", "again"));
        Assert.True(report.IsSuccess);
        Assert.Equal(PersistenceStatus.PossiblyPersisted, report.Status);
    }

    private static async Task<DeliveryReport> ProduceWithHandler(IProducer<string, string> producer, ProducerRecord<string, string> record)
    {
        var done = new TaskCompletionSource<DeliveryReport>(TaskCreationOptions.RunContinuationsAsynchronously);
        producer.Produce(record, report => done.TrySetResult(report));
        return await done.Task.WaitAsync(Bound);
    }
}
