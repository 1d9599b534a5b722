namespace Samsa.IntegrationTests.Transactions;

using Samsa.IntegrationTests.Infrastructure;
using Samsa.Testing;
using Samsa.Testing.Proxy;
using Xunit.Abstractions;

/// <summary>
/// Fencing on the mock cluster, which does not fence by itself (a second InitProducerId gets a new producer id and leaves
/// the first valid): <see cref="KafkaProxy.FenceAsync"/> moves the producer's transactional id to the next epoch, as a
/// new producer with the same id would on a real cluster, and the <see cref="TransactionOracle"/> says what becomes visible.
/// </summary>
public sealed class FencingThroughProxyTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task AFencedProducerGetsProducerFencedAndNothingOfItsTransactionBecomesVisible()
    {
        ConfluentLoader.EnsureLoaded();
        using var cluster = MockCluster.Start(3);
        cluster.CreateTopic("fenced", 2);
        await using var proxy = KafkaProxy.Start(cluster);
        await using var producer = new ProducerBuilder<string, string>(new ProducerOptions
        {
            BootstrapServers = proxy.BootstrapServers.Split(','),
            TransactionalId = "fence-me",
            MaxBlock = Bound,
        }).Build();
        await producer.InitTransactionsAsync().AsTask().WaitAsync(Bound);

        producer.BeginTransaction();
        for (var i = 0; i < 10; i++)
        {
            producer.Produce(new ProducerRecord<string, string>("fenced", $"k{i}", $"before-{i}"));
        }

        await producer.FlushAsync().WaitAsync(Bound);
        var (pid, epoch) = await proxy.FenceAsync("fence-me");
        output.WriteLine($"fenced: the transactional id now runs as {pid}/{epoch}");

        // The mock's Produce checks only sequences: a batch after the fence got OUT_OF_ORDER_SEQUENCE_NUMBER here, which
        // makes the transaction abortable (a real broker answers INVALID_PRODUCER_EPOCH, abortable too since KIP-588).
        // The abort's EndTxn then meets the new epoch at the coordinator, and that is fatal. Either way it ends fenced.
        producer.Produce(new ProducerRecord<string, string>("fenced", "k", "after"));
        var commit = await Assert.ThrowsAnyAsync<KafkaException>(() => producer.CommitTransactionAsync().AsTask().WaitAsync(Bound));
        output.WriteLine($"commit: {commit.GetType().Name} ({commit.ErrorCode}): {commit.Message}");
        var fenced = commit;
        if (commit is TransactionAbortableException)
        {
            fenced = await Assert.ThrowsAnyAsync<KafkaException>(() => producer.AbortTransactionAsync().AsTask().WaitAsync(Bound));
            output.WriteLine($"abort: {fenced.GetType().Name} ({fenced.ErrorCode}): {fenced.Message}");
        }

        Assert.IsType<ProducerFencedException>(fenced);
        Assert.True(fenced.IsFatal);

        var report = proxy.Transactions.Report();
        output.WriteLine(report.ToString());
        proxy.Transactions.Verify();
        Assert.Equal(0, report.Committed);
        var read = TransactionalReader.Read(proxy.BootstrapServers, "fenced", Confluent.Kafka.IsolationLevel.ReadUncommitted, proxy.Transactions);
        Assert.NotEmpty(read);
        Assert.DoesNotContain(read, r => r.Outcome == TransactionOutcome.Committed);
    }
}
