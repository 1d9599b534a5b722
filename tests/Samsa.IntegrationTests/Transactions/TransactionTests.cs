using Samsa.IntegrationTests.Infrastructure;
using Samsa.Testing;
using Samsa.Testing.Proxy;

namespace Samsa.IntegrationTests.Transactions;

/// <summary>
/// The transactional producer against the mock cluster: the states, what is sent in which order (request tracking),
/// and the coordinator faults. What read_committed consumers see is checked through the transaction front.
/// </summary>
public sealed class TransactionTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task ProducingOutsideATransactionFailsNamingTheStateAndSendsNothing()
    {
        using var cluster = StartCluster("outside", 1);
        await using var producer = Build(cluster, "outside-1");
        cluster.StartRequestTracking();

        var beforeInit = await Assert.ThrowsAsync<TransactionStateException>(() => producer.ProduceAsync(new("outside", "k", "v")).AsTask());
        Assert.Contains("InitTransactions", beforeInit.Message, StringComparison.Ordinal);

        await producer.InitTransactionsAsync().AsTask().WaitAsync(Bound);
        var beforeBegin = await Assert.ThrowsAsync<TransactionStateException>(() => producer.ProduceAsync(new("outside", "k", "v")).AsTask());
        Assert.Contains("BeginTransaction", beforeBegin.Message, StringComparison.Ordinal);

        DeliveryReport? report = null;
        producer.Produce(new ProducerRecord<string, string>("outside", "k", "v"), r => report = r);
        Assert.IsType<TransactionStateException>(report?.Error);

        Assert.Throws<TransactionStateException>(() => producer.CommitTransaction(Bound));
        Assert.DoesNotContain(cluster.GetRequests(), r => r.Api == KafkaApiKey.Produce);
    }

    [Fact]
    public async Task ACommitDeliversEveryRecordAfterItsPartitionJoinedTheTransaction()
    {
        using var cluster = StartCluster("commit", 3);
        await using var producer = Build(cluster, "commit-1");
        await producer.InitTransactionsAsync().AsTask().WaitAsync(Bound);
        cluster.StartRequestTracking();

        for (var transaction = 0; transaction < 3; transaction++)
        {
            producer.BeginTransaction();
            var reports = new System.Collections.Concurrent.ConcurrentQueue<DeliveryReport>();
            for (var i = 0; i < 300; i++)
            {
                producer.Produce(new ProducerRecord<string, string>("commit", $"key-{i}", $"{transaction}-{i}"), reports.Enqueue);
            }

            await producer.CommitTransactionAsync().AsTask().WaitAsync(Bound);

            // The commit flushed first: every record was acknowledged (its handler ran) by the time it returns.
            Assert.Equal(300, reports.Count);
            Assert.All(reports, r => Assert.True(r.IsSuccess, r.Error?.Message));
        }

        var requests = cluster.GetRequests().Where(r => r.Api is KafkaApiKey.Produce or KafkaApiKey.AddPartitionsToTxn or KafkaApiKey.EndTxn).ToList();
        var ends = requests.Count(r => r.Api == KafkaApiKey.EndTxn);
        Assert.Equal(3, ends);

        // Per transaction: partitions are registered before the first batch goes, in few requests (not one per record),
        // and EndTxn comes after the last batch.
        var index = 0;
        for (var transaction = 0; transaction < 3; transaction++)
        {
            var end = requests.FindIndex(index, r => r.Api == KafkaApiKey.EndTxn);
            var span = requests[index..end];
            Assert.Equal(KafkaApiKey.AddPartitionsToTxn, span[0].Api);
            Assert.InRange(span.Count(r => r.Api == KafkaApiKey.AddPartitionsToTxn), 1, 3);
            Assert.Contains(span, r => r.Api == KafkaApiKey.Produce);
            index = end + 1;
        }
    }

    [Fact]
    public async Task AnAbortFailsTheUnsentRecordsAndNeverSendsThem()
    {
        using var cluster = StartCluster("abort", 2);
        await using var producer = Build(cluster, "abort-1", o => o with { Linger = TimeSpan.FromMinutes(1), BatchSize = 1 << 20 });
        await producer.InitTransactionsAsync().AsTask().WaitAsync(Bound);
        cluster.StartRequestTracking();

        producer.BeginTransaction();
        var sends = Enumerable.Range(0, 20).Select(i => producer.ProduceAsync(new("abort", $"k{i}", "v")).AsTask()).ToList();
        await producer.AbortTransactionAsync().AsTask().WaitAsync(Bound);

        foreach (var send in sends)
        {
            var error = await Assert.ThrowsAsync<TransactionAbortedException>(() => send);
            Assert.Contains("never sent", error.Message, StringComparison.Ordinal);

            // A client-side code of its own (librdkafka's _PURGE_QUEUE number), not a broker's.
            Assert.Equal(ErrorCode.LocalTransactionAborted, error.ErrorCode);
            Assert.Equal(PersistenceStatus.NotPersisted, error.PersistenceStatus);
        }

        Assert.DoesNotContain(cluster.GetRequests(), r => r.Api == KafkaApiKey.Produce);

        // The producer goes on: the next transaction commits.
        producer.BeginTransaction();
        var next = producer.ProduceAsync(new("abort", "k", "after")).AsTask();
        await producer.CommitTransactionAsync().AsTask().WaitAsync(Bound);
        Assert.True((await next).Offset >= 0);
    }

    [Fact]
    public async Task ARecordThatFailsMakesTheCommitFailAndAnAbortRecovers()
    {
        using var cluster = StartCluster("abortable", 1);
        await using var producer = Build(cluster, "abortable-1");
        await producer.InitTransactionsAsync().AsTask().WaitAsync(Bound);

        producer.BeginTransaction();
        cluster.PushRequestErrors(KafkaApiKey.Produce, (short)ErrorCode.InvalidRecord);
        var failed = producer.ProduceAsync(new("abortable", "k", "bad")).AsTask();
        await Assert.ThrowsAnyAsync<KafkaException>(() => failed);

        var commit = await Assert.ThrowsAsync<TransactionAbortableException>(() => producer.CommitTransactionAsync().AsTask());
        Assert.True(commit.TxnRequiresAbort);
        Assert.False(commit.IsFatal);

        // Until the abort, records are refused with the same reason.
        var refused = await Assert.ThrowsAsync<TransactionAbortableException>(() => producer.ProduceAsync(new("abortable", "k", "v")).AsTask());
        Assert.Contains("AbortTransaction", refused.Message, StringComparison.Ordinal);

        await producer.AbortTransactionAsync().AsTask().WaitAsync(Bound);
        producer.BeginTransaction();
        var good = producer.ProduceAsync(new("abortable", "k", "good")).AsTask();
        await producer.CommitTransactionAsync().AsTask().WaitAsync(Bound);
        Assert.True((await good).Offset >= 0);
    }

    [Theory]
    [InlineData(ErrorCode.ProducerFenced)]
    [InlineData(ErrorCode.InvalidProducerEpoch)]
    public async Task AFencedCommitIsFatal(ErrorCode code)
    {
        using var cluster = StartCluster("fenced", 1);
        await using var producer = Build(cluster, "fenced-1");
        await producer.InitTransactionsAsync().AsTask().WaitAsync(Bound);
        producer.BeginTransaction();
        await producer.ProduceAsync(new("fenced", "k", "v")).AsTask().WaitAsync(Bound);

        cluster.PushRequestErrors(KafkaApiKey.EndTxn, (short)code);
        var fenced = await Assert.ThrowsAsync<ProducerFencedException>(() => producer.CommitTransactionAsync().AsTask());
        Assert.True(fenced.IsFatal);

        // Fatal: nothing more goes, and every call says why.
        Assert.Same(fenced, await Assert.ThrowsAsync<ProducerFencedException>(() => producer.ProduceAsync(new("fenced", "k", "v")).AsTask()));
        Assert.Throws<ProducerFencedException>(producer.BeginTransaction);
        Assert.Same(fenced, producer.GetHealth().FatalError);
    }

    [Fact]
    public async Task AProduceAnswerThatFencesTheProducerIsFatal()
    {
        using var cluster = StartCluster("fenced-produce", 1);
        await using var producer = Build(cluster, "fenced-produce-1");
        await producer.InitTransactionsAsync().AsTask().WaitAsync(Bound);
        producer.BeginTransaction();
        cluster.PushRequestErrors(KafkaApiKey.Produce, (short)ErrorCode.ProducerFenced);
        await Assert.ThrowsAsync<ProducerFencedException>(() => producer.ProduceAsync(new("fenced-produce", "k", "v")).AsTask().WaitAsync(Bound));
        var commit = await Assert.ThrowsAsync<ProducerFencedException>(() => producer.CommitTransactionAsync().AsTask());
        Assert.True(commit.IsFatal);
    }

    [Theory]
    [InlineData(KafkaApiKey.FindCoordinator, ErrorCode.CoordinatorLoadInProgress)]
    [InlineData(KafkaApiKey.FindCoordinator, ErrorCode.CoordinatorNotAvailable)]
    [InlineData(KafkaApiKey.FindCoordinator, ErrorCode.NotCoordinator)]
    [InlineData(KafkaApiKey.InitProducerId, ErrorCode.CoordinatorLoadInProgress)]
    [InlineData(KafkaApiKey.InitProducerId, ErrorCode.NotCoordinator)]
    [InlineData(KafkaApiKey.InitProducerId, ErrorCode.ConcurrentTransactions)]
    public async Task InitTransactionsRetriesARetriableCoordinatorErrorThenATransactionCommits(KafkaApiKey api, ErrorCode error)
    {
        using var cluster = StartCluster("init-retry", 1);

        // Through the proxy, which gives the mock's FindCoordinator error answers the empty host a broker writes: the
        // mock's null host would make them undecodable, retried as a broken answer rather than for their error.
        await using var proxy = KafkaProxy.Start(cluster);
        var logger = new ListLogger();
        await using var producer = new ProducerBuilder<string, string>(new ProducerOptions
        {
            BootstrapServers = proxy.BootstrapServers.Split(','),
            TransactionalId = $"init-retry-{api}-{error}",
            RetryBackoff = TimeSpan.FromMilliseconds(20),
        }).SetLogger(logger).Build();
        cluster.StartRequestTracking();

        // Twice: the second answer comes to a retry, which must be retried again.
        cluster.PushRequestErrors(api, (short)error, (short)error);
        await producer.InitTransactionsAsync().AsTask().WaitAsync(Bound);
        var init = cluster.GetRequests();
        Assert.Equal(3, init.Count(r => r.Api == api));
        if (api == KafkaApiKey.InitProducerId && error == ErrorCode.NotCoordinator)
        {
            // The coordinator moved: it was looked up again before each retry.
            Assert.Equal(3, init.Count(r => r.Api == KafkaApiKey.FindCoordinator));
        }

        // Each retry was for the error itself.
        var retries = logger.Entries.Where(e => e.EventId == SamsaLogEvents.TransactionCoordinatorRetry).Select(e => e.Message).ToList();
        Assert.Equal(2, retries.Count);
        Assert.All(retries, reason => Assert.True(
            reason.Contains(ErrorCodes.Name(error), StringComparison.Ordinal) || reason.Contains(error.ToString(), StringComparison.Ordinal), reason));

        producer.BeginTransaction();
        var sent = producer.ProduceAsync(new("init-retry", "k", "v")).AsTask();
        await producer.CommitTransactionAsync().AsTask().WaitAsync(Bound);
        Assert.True((await sent).Offset >= 0);
        Assert.Single(cluster.GetRequests(), r => r.Api == KafkaApiKey.EndTxn);
        proxy.Transactions.Verify();
        Assert.Equal(1, proxy.Transactions.Report().Committed);
    }

    [Fact]
    public async Task ARefusedTransactionalIdAtInitIsFatal()
    {
        using var cluster = StartCluster("acl-init", 1);
        await using var producer = Build(cluster, "acl-init-1");
        cluster.StartRequestTracking();
        cluster.PushRequestErrors(KafkaApiKey.InitProducerId, (short)ErrorCode.TransactionalIdAuthorizationFailed);

        var refused = await Assert.ThrowsAsync<KafkaAuthorizationException>(() => producer.InitTransactionsAsync().AsTask().WaitAsync(Bound));
        AssertRefusedForGood(producer, refused);

        // Not retried, and not tried again on a second call: the producer must be disposed.
        await Assert.ThrowsAsync<KafkaAuthorizationException>(() => producer.InitTransactionsAsync().AsTask());
        Assert.Single(cluster.GetRequests(), r => r.Api == KafkaApiKey.InitProducerId);
    }

    [Theory]
    [InlineData(KafkaApiKey.AddPartitionsToTxn)]
    [InlineData(KafkaApiKey.AddOffsetsToTxn)]
    [InlineData(KafkaApiKey.EndTxn)]
    public async Task ARefusedTransactionalIdOnALaterCoordinatorCallIsFatal(KafkaApiKey api)
    {
        using var cluster = StartCluster("acl-later", 1);
        await using var producer = Build(cluster, "acl-later-" + api);
        await producer.InitTransactionsAsync().AsTask().WaitAsync(Bound);
        producer.BeginTransaction();
        cluster.StartRequestTracking();
        cluster.PushRequestErrors(api, (short)ErrorCode.TransactionalIdAuthorizationFailed);

        var record = producer.ProduceAsync(new("acl-later", "k", "v")).AsTask();
        KafkaAuthorizationException refused;
        switch (api)
        {
            case KafkaApiKey.AddPartitionsToTxn:
                // The partition could not join the transaction: the record fails with the producer's fatal error, unsent.
                refused = await Assert.ThrowsAsync<KafkaAuthorizationException>(() => record.WaitAsync(Bound));
                Assert.DoesNotContain(cluster.GetRequests(), r => r.Api == KafkaApiKey.Produce);
                break;
            case KafkaApiKey.AddOffsetsToTxn:
                await record.WaitAsync(Bound);
                refused = await Assert.ThrowsAsync<KafkaAuthorizationException>(() => producer.SendOffsetsToTransactionAsync(
                    [new TopicPartitionOffset("acl-later", 0, 1)], new ConsumerGroupMetadata("acl-group")).AsTask().WaitAsync(Bound));
                break;
            default:
                await record.WaitAsync(Bound);
                refused = await Assert.ThrowsAsync<KafkaAuthorizationException>(() => producer.CommitTransactionAsync().AsTask().WaitAsync(Bound));
                break;
        }

        AssertRefusedForGood(producer, refused);
        Assert.Same(refused, await Assert.ThrowsAsync<KafkaAuthorizationException>(() => producer.CommitTransactionAsync().AsTask()));
        Assert.Single(cluster.GetRequests(), r => r.Api == api);
        Assert.DoesNotContain(cluster.GetRequests(), r => r.Api == KafkaApiKey.EndTxn && api != KafkaApiKey.EndTxn);
    }

    // TRANSACTIONAL_ID_AUTHORIZATION_FAILED: typed, fatal (not merely abortable), and every later call says so.
    private static void AssertRefusedForGood(IProducer<string, string> producer, KafkaAuthorizationException refused)
    {
        Assert.Equal(ErrorCode.TransactionalIdAuthorizationFailed, refused.ErrorCode);
        Assert.True(refused.IsFatal);
        Assert.False(refused.TxnRequiresAbort);
        Assert.Contains("transactional.id", refused.Message, StringComparison.Ordinal);
        Assert.Same(refused, producer.GetHealth().FatalError);
        Assert.Same(refused, Assert.Throws<KafkaAuthorizationException>(producer.BeginTransaction));
    }

    [Fact]
    public async Task CoordinatorErrorsDuringEndTxnAreRetriedUntilTheCommitSucceeds()
    {
        using var cluster = StartCluster("endtxn-retry", 1);
        await using var producer = Build(cluster, "endtxn-retry-1");
        await producer.InitTransactionsAsync().AsTask().WaitAsync(Bound);
        producer.BeginTransaction();
        var sent = producer.ProduceAsync(new("endtxn-retry", "k", "v")).AsTask();
        cluster.StartRequestTracking();
        cluster.PushRequestErrors(
            KafkaApiKey.EndTxn, (short)ErrorCode.NotCoordinator, (short)ErrorCode.ConcurrentTransactions, (short)ErrorCode.CoordinatorLoadInProgress);

        await producer.CommitTransactionAsync().AsTask().WaitAsync(Bound);
        Assert.True((await sent).Offset >= 0);
        var requests = cluster.GetRequests();
        Assert.Equal(4, requests.Count(r => r.Api == KafkaApiKey.EndTxn));

        // NOT_COORDINATOR sent the producer to look the coordinator up again.
        Assert.Contains(requests, r => r.Api == KafkaApiKey.FindCoordinator);
    }

    [Fact]
    public async Task ARequestTimeoutDuringEndTxnIsRetriedAndABlockedCommitCanBeWaitedForAgain()
    {
        using var cluster = StartCluster("endtxn-timeout", 1);
        var logger = new ListLogger();
        var options = new ProducerOptions
        {
            BootstrapServers = cluster.BootstrapServers.Split(','),
            TransactionalId = "endtxn-timeout-1",
            RetryBackoff = TimeSpan.FromMilliseconds(20),
            RequestTimeout = TimeSpan.FromSeconds(1),
            DeliveryTimeout = TimeSpan.FromSeconds(30),
        };
        await using var producer = new ProducerBuilder<string, string>(options).SetLogger(logger).Build();
        await producer.InitTransactionsAsync().AsTask().WaitAsync(Bound);
        producer.BeginTransaction();
        await producer.ProduceAsync(new("endtxn-timeout", "k", "v")).AsTask().WaitAsync(Bound);

        // Every broker slower than request.timeout.ms: EndTxn times out (the coordinator may or may not have it).
        SetRoundTripTime(cluster, TimeSpan.FromSeconds(3));
        var timedOut = Assert.Throws<KafkaTimeoutException>(() => producer.CommitTransaction(TimeSpan.FromMilliseconds(1500)));
        Assert.Contains("CommitTransaction again", timedOut.Message, StringComparison.Ordinal);
        Assert.Throws<TransactionStateException>(producer.BeginTransaction);

        // The EndTxn request times out and is sent again (a bounded wait for the retry, not a timing).
        var deadline = DateTime.UtcNow + Bound;
        while (!logger.Entries.Any(e => e.EventId == SamsaLogEvents.TransactionCoordinatorRetry && e.Message.StartsWith("EndTxn(commit)", StringComparison.Ordinal)) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.Contains(logger.Entries, e => e.EventId == SamsaLogEvents.TransactionCoordinatorRetry && e.Message.StartsWith("EndTxn(commit)", StringComparison.Ordinal));
        SetRoundTripTime(cluster, TimeSpan.Zero);
        producer.CommitTransaction(Bound);
        producer.BeginTransaction();
    }

    [Fact]
    public async Task TheCoordinatorBrokerDownDuringACommitDelaysItUntilItIsBack()
    {
        using var cluster = StartCluster("coordinator-down", 1);
        cluster.StartRequestTracking();
        await using var producer = Build(cluster, "coordinator-down-1");
        await producer.InitTransactionsAsync().AsTask().WaitAsync(Bound);
        var coordinator = cluster.GetRequests().Last(r => r.Api == KafkaApiKey.InitProducerId).BrokerId;

        producer.BeginTransaction();
        var sent = producer.ProduceAsync(new("coordinator-down", "k", "v")).AsTask();
        await producer.FlushAsync().WaitAsync(Bound);
        cluster.SetBrokerDown(coordinator);
        var commit = producer.CommitTransactionAsync().AsTask();
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.False(commit.IsCompleted);

        cluster.SetBrokerUp(coordinator);
        await commit.WaitAsync(Bound);
        Assert.True((await sent).Offset >= 0);
    }

    [Fact]
    public async Task ATransactionTheCoordinatorTimedOutIsReportedAndTheAbortMovesToANewEpoch()
    {
        using var cluster = StartCluster("timed-out", 1);
        await using var producer = Build(cluster, "timed-out-1");
        await producer.InitTransactionsAsync().AsTask().WaitAsync(Bound);
        producer.BeginTransaction();
        await producer.ProduceAsync(new("timed-out", "k", "v")).AsTask().WaitAsync(Bound);
        cluster.StartRequestTracking();

        cluster.PushRequestErrors(KafkaApiKey.EndTxn, (short)ErrorCode.InvalidTxnState);
        var timedOut = await Assert.ThrowsAsync<TransactionTimedOutException>(() => producer.CommitTransactionAsync().AsTask());
        Assert.True(timedOut.TxnRequiresAbort);
        Assert.Contains("transaction.timeout.ms", timedOut.Message, StringComparison.Ordinal);

        await producer.AbortTransactionAsync().AsTask().WaitAsync(Bound);
        Assert.Single(cluster.GetRequests(), r => r.Api == KafkaApiKey.InitProducerId);

        producer.BeginTransaction();
        var next = producer.ProduceAsync(new("timed-out", "k", "again")).AsTask();
        await producer.CommitTransactionAsync().AsTask().WaitAsync(Bound);
        Assert.True((await next).Offset >= 0);
    }

    [Fact]
    public async Task OffsetsJoinTheTransactionBeforeItEnds()
    {
        using var cluster = StartCluster("offsets", 1);
        cluster.CreateTopic("offsets-input", 2);
        await using var producer = Build(cluster, "offsets-1");
        await producer.InitTransactionsAsync().AsTask().WaitAsync(Bound);
        cluster.StartRequestTracking();

        producer.BeginTransaction();
        await producer.ProduceAsync(new("offsets", "k", "v")).AsTask().WaitAsync(Bound);
        await producer.SendOffsetsToTransactionAsync(
            [new TopicPartitionOffset("offsets-input", 0, 42), new TopicPartitionOffset("offsets-input", 1, 7)],
            new ConsumerGroupMetadata("offsets-group")).AsTask().WaitAsync(Bound);
        await producer.CommitTransactionAsync().AsTask().WaitAsync(Bound);

        var order = cluster.GetRequests()
            .Where(r => r.Api is KafkaApiKey.AddOffsetsToTxn or KafkaApiKey.TxnOffsetCommit or KafkaApiKey.EndTxn)
            .Select(r => r.Api)
            .ToList();
        Assert.Equal([KafkaApiKey.AddOffsetsToTxn, KafkaApiKey.TxnOffsetCommit, KafkaApiKey.EndTxn], order);

        await Assert.ThrowsAsync<ArgumentException>(() => producer.SendOffsetsToTransactionAsync(
            [new TopicPartitionOffset("offsets-input", 0, -1)], new ConsumerGroupMetadata("offsets-group")).AsTask());
    }

    [Fact]
    public async Task ManyThreadsProducingIntoOneTransactionAllCommit()
    {
        using var cluster = StartCluster("threads", 6);
        await using var producer = Build(cluster, "threads-1");
        await producer.InitTransactionsAsync().AsTask().WaitAsync(Bound);
        for (var round = 0; round < 5; round++)
        {
            producer.BeginTransaction();
            var sends = new System.Collections.Concurrent.ConcurrentBag<Task<DeliveryResult>>();
            await Task.WhenAll(Enumerable.Range(0, 4).Select(t => Task.Run(() =>
            {
                for (var i = 0; i < 500; i++)
                {
                    sends.Add(producer.ProduceAsync(new("threads", $"{t}-{i}", "v")).AsTask());
                }
            })));
            await producer.CommitTransactionAsync().AsTask().WaitAsync(Bound);
            Assert.Equal(2000, sends.Count);
            await Task.WhenAll(sends).WaitAsync(Bound);
        }
    }

    [Fact]
    public async Task ACallThatDoesNotFitTheStateIsRefusedAndChangesNothing()
    {
        using var cluster = StartCluster("states", 1);
        await using var producer = Build(cluster, "states-1");
        Assert.Throws<TransactionStateException>(producer.BeginTransaction);
        await producer.InitTransactionsAsync().AsTask().WaitAsync(Bound);
        await Assert.ThrowsAsync<TransactionStateException>(() => producer.InitTransactionsAsync().AsTask());
        await Assert.ThrowsAsync<TransactionStateException>(() => producer.AbortTransactionAsync().AsTask());
        producer.BeginTransaction();
        Assert.Throws<TransactionStateException>(producer.BeginTransaction);
        await producer.CommitTransactionAsync().AsTask().WaitAsync(Bound); // an empty transaction commits

        // Calling the commit again (as after a timed-out wait) reports the same outcome, until the next transaction.
        await producer.CommitTransactionAsync().AsTask().WaitAsync(Bound);
        await Assert.ThrowsAsync<TransactionStateException>(() => producer.AbortTransactionAsync().AsTask());
        producer.BeginTransaction();
        await Assert.ThrowsAsync<TransactionStateException>(() => producer.InitTransactionsAsync().AsTask());
    }

    [Fact]
    public async Task DisposingWithATransactionOpenAbortsIt()
    {
        using var cluster = StartCluster("dispose-open", 1);
        var producer = Build(cluster, "dispose-open-1", o => o with { Linger = TimeSpan.FromMinutes(1), BatchSize = 1 << 20 });
        await producer.InitTransactionsAsync().AsTask().WaitAsync(Bound);

        // A first transaction makes the topic's metadata known, so the next one's records go straight into a batch.
        producer.BeginTransaction();
        var warmUp = producer.ProduceAsync(new("dispose-open", "warm", "up")).AsTask();
        await producer.CommitTransactionAsync().AsTask().WaitAsync(Bound);
        await warmUp;

        cluster.StartRequestTracking();
        producer.BeginTransaction();
        var sends = Enumerable.Range(0, 5).Select(i => producer.ProduceAsync(new("dispose-open", $"k{i}", "v")).AsTask()).ToList();

        // Once the partition is registered, the coordinator knows of the transaction (a bounded wait, not a timing).
        var deadline = DateTime.UtcNow + Bound;
        while (!cluster.GetRequests().Any(r => r.Api == KafkaApiKey.AddPartitionsToTxn) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        await producer.DisposeAsync().AsTask().WaitAsync(Bound);

        foreach (var send in sends)
        {
            await Assert.ThrowsAsync<TransactionAbortedException>(() => send);
        }

        var requests = cluster.GetRequests();
        Assert.DoesNotContain(requests, r => r.Api == KafkaApiKey.Produce);

        // The partition was registered, so the coordinator knew of the transaction: it was told to abort it.
        Assert.Contains(requests, r => r.Api == KafkaApiKey.AddPartitionsToTxn);
        Assert.Single(requests, r => r.Api == KafkaApiKey.EndTxn);
    }

    [Fact]
    public async Task RecordsWhoseAsyncSerializerIsStillRunningAtCommitAreCommittedWithTheTransaction()
    {
        using var cluster = StartCluster("async-serializer", 2);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var options = new ProducerOptions { BootstrapServers = cluster.BootstrapServers.Split(','), TransactionalId = "async-serializer-1" };
        await using var producer = new ProducerBuilder<string, string>(options).SetValueSerializer(new GatedSerializer(gate.Task)).Build();
        await Assert.ThrowsAsync<TransactionStateException>(() => producer.ProduceAsync(new("async-serializer", "k", "outside")).AsTask());

        await producer.InitTransactionsAsync().AsTask().WaitAsync(Bound);
        producer.BeginTransaction();
        var sends = Enumerable.Range(0, 10).Select(i => producer.ProduceAsync(new("async-serializer", $"k{i}", $"v{i}")).AsTask()).ToList();
        var commit = producer.CommitTransactionAsync().AsTask();

        // The commit waits for the records still being serialized, and takes them in.
        await Task.Delay(200);
        Assert.False(commit.IsCompleted);
        gate.SetResult();
        await commit.WaitAsync(Bound);
        foreach (var send in sends)
        {
            Assert.True((await send).Offset >= 0);
        }
    }

    private sealed class GatedSerializer(Task gate) : Samsa.Serialization.IAsyncSerializer<string>
    {
        public async ValueTask SerializeAsync(string value, System.Buffers.IBufferWriter<byte> output, Samsa.Serialization.SerializationContext context, CancellationToken cancellationToken)
        {
            await gate.WaitAsync(cancellationToken);
            System.Buffers.BuffersExtensions.Write(output, System.Text.Encoding.UTF8.GetBytes(value).AsSpan());
        }
    }

    [Fact]
    public async Task ANonTransactionalProducerRefusesTransactionCalls()
    {
        using var cluster = StartCluster("plain", 1);
        await using var producer = new ProducerBuilder<string, string>(new ProducerOptions { BootstrapServers = cluster.BootstrapServers.Split(',') }).Build();
        var error = await Assert.ThrowsAsync<TransactionStateException>(() => producer.InitTransactionsAsync().AsTask());
        Assert.Contains("transactional.id", error.Message, StringComparison.Ordinal);
    }

    internal static MockCluster StartCluster(string topic, int partitions)
    {
        ConfluentLoader.EnsureLoaded();
        var cluster = MockCluster.Start(3);
        cluster.CreateTopic(topic, partitions);
        return cluster;
    }

    internal static IProducer<string, string> Build(MockCluster cluster, string transactionalId, Func<ProducerOptions, ProducerOptions>? change = null)
    {
        var options = new ProducerOptions
        {
            BootstrapServers = cluster.BootstrapServers.Split(','),
            TransactionalId = transactionalId,
            RetryBackoff = TimeSpan.FromMilliseconds(20),
        };
        return new ProducerBuilder<string, string>(change?.Invoke(options) ?? options).Build();
    }

    private static void SetRoundTripTime(MockCluster cluster, TimeSpan rtt)
    {
        for (var broker = 1; broker <= cluster.BrokerCount; broker++)
        {
            cluster.SetBrokerRoundTripTime(broker, rtt);
        }
    }
}
