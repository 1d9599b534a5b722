using Confluent.Kafka;
using Samsa.IntegrationTests.Infrastructure;
using Samsa.Testing;
using Samsa.Testing.Proxy;

namespace Samsa.Cli.Tests;

/// <summary>
/// <c>samsa produce --transactional-id ID [--transaction-size N]</c>, each test on its own mock cluster behind a
/// <see cref="KafkaProxy"/>, whose <see cref="TransactionOracle"/> says what a read_committed consumer would see (the mock
/// does not filter aborted records itself).
/// </summary>
public sealed class ProduceTransactionTests
{
    private static string Lines(int count) => string.Join('\n', Enumerable.Range(0, count).Select(i => $"line {i:D3}")) + "\n";

    private static async Task<(MockCluster Cluster, KafkaProxy Proxy)> StartAsync(string topic)
    {
        ConfluentLoader.EnsureLoaded();
        var cluster = MockCluster.Start(3);
        cluster.CreateTopic(topic, 1);
        await Task.Yield();
        return (cluster, KafkaProxy.Start(cluster));
    }

    [Fact]
    public async Task EveryNLinesAreOneCommittedTransaction()
    {
        var (cluster, proxy) = await StartAsync("cli-txn");
        using var _ = cluster;
        await using var __ = proxy;

        var run = await Cli.RunWithInputAsync(Lines(25), "produce", "-b", proxy.BootstrapServers, "-t", "cli-txn",
            "--transactional-id", "cli-txn-1", "--transaction-size", "10");

        Assert.True(run.ExitCode == 0, run.All);
        Assert.Contains("25 records committed in 3 transactions, 0 transactions aborted (0 records), 0 lines not sent, 25 lines read", run.Stderr, StringComparison.Ordinal);
        run.AssertNoStackTrace();

        proxy.Transactions.Verify();
        var report = proxy.Transactions.Report();
        Assert.Equal((3, 0), (report.Committed, report.Aborted));
        Assert.Equal([10, 10, 5], report.Transactions.Select(t => t.Records));
        var read = TransactionalReader.Read(proxy.BootstrapServers, "cli-txn", IsolationLevel.ReadUncommitted, proxy.Transactions);
        Assert.Equal(Enumerable.Range(0, 25).Select(i => $"line {i:D3}"), read.Where(r => r.Outcome == TransactionOutcome.Committed).Select(r => r.Value));
    }

    [Fact]
    public async Task TheDefaultTransactionSizeIs1000Lines()
    {
        var (cluster, proxy) = await StartAsync("cli-txn-default");
        using var _ = cluster;
        await using var __ = proxy;

        var run = await Cli.RunWithInputAsync(Lines(1500), "produce", "-b", proxy.BootstrapServers, "-t", "cli-txn-default", "--transactional-id", "cli-txn-2");

        Assert.True(run.ExitCode == 0, run.All);
        Assert.Contains("1500 records committed in 2 transactions", run.Stderr, StringComparison.Ordinal);
        Assert.Equal([1000, 500], proxy.Transactions.Report().Transactions.Select(t => t.Records));
    }

    [Fact]
    public async Task AFailedRecordAbortsItsTransactionTheOthersCommitAndTheExitCodeIsOne()
    {
        var (cluster, proxy) = await StartAsync("cli-txn-abort");
        using var _ = cluster;
        await using var __ = proxy;
        cluster.PushRequestErrors(KafkaApiKey.Produce, 87); // INVALID_RECORD: not retriable, the first record fails

        var run = await Cli.RunWithInputAsync(Lines(30), "produce", "-b", proxy.BootstrapServers, "-t", "cli-txn-abort",
            "--transactional-id", "cli-txn-3", "--transaction-size", "10", "--sync");

        Assert.Equal(ExitCodes.Failed, run.ExitCode);
        Assert.Contains("20 records committed in 2 transactions, 1 transactions aborted (10 records)", run.Stderr, StringComparison.Ordinal);
        Assert.Contains("aborted the transaction of lines 1-10", run.Stderr, StringComparison.Ordinal);
        run.AssertNoStackTrace();

        proxy.Transactions.Verify();
        var read = TransactionalReader.Read(proxy.BootstrapServers, "cli-txn-abort", IsolationLevel.ReadUncommitted, proxy.Transactions);
        Assert.Equal(Enumerable.Range(10, 20).Select(i => $"line {i:D3}"), read.Where(r => r.Outcome == TransactionOutcome.Committed).Select(r => r.Value));
    }

    [Theory]
    [InlineData("--transaction-size", "0", "--transactional-id", "x")]
    [InlineData("--transaction-size", "5")]
    [InlineData("--transactional-id", " ")]
    public async Task BadTransactionOptionsAreUsageErrors(params string[] options)
    {
        var run = await Cli.RunWithInputAsync("a\n", ["produce", "-b", "127.0.0.1:1", "-t", "t", .. options]);

        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        run.AssertNoStackTrace();
    }
}
