using System.Text;
using Samsa.IntegrationTests.Infrastructure;

namespace Samsa.Cli.Tests;

[Collection(ClusterCollectionDefinition.Name)]
public sealed class ProduceCommandTests(ClusterFixture fixture) : IDisposable
{
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public async Task ProduceFromFileWithKeysAndHeadersArrivesIntact()
    {
        var topic = fixture.CreateTopic(3);
        var file = _files.Write("in.txt", "k1:v1\nk2:value:with:colons\nk3:\n");

        var run = await Cli.RunWithInputAsync("", "produce", "--bootstrap-server", fixture.Cluster.BootstrapServers, "--topic", topic,
            "--key-separator", ":", "--header", "source=cli", "-H", "n=1", "--acks", "all", "--compression", "lz4", file);

        Assert.True(run.ExitCode == 0, run.All);
        Assert.Contains("3 records sent, 0 failed", run.Stderr, StringComparison.Ordinal);
        run.AssertNoStackTrace();

        var records = RecordReader.ReadAll(fixture.Cluster.BootstrapServers, topic, 3);
        var byKey = records.ToDictionary(r => Encoding.UTF8.GetString(r.Key!), r => Encoding.UTF8.GetString(r.Value!));
        Assert.Equal(3, records.Count);
        Assert.Equal("v1", byKey["k1"]);
        Assert.Equal("value:with:colons", byKey["k2"]);
        Assert.Equal("", byKey["k3"]);
        Assert.All(records, r =>
        {
            Assert.Equal(["source", "n"], r.Headers.Select(h => h.Key));
            Assert.Equal("cli", Encoding.UTF8.GetString(r.Headers[0].Value!));
        });
    }

    [Fact]
    public async Task ProduceFromStdinSyncToOnePartitionWithoutKeys()
    {
        var topic = fixture.CreateTopic(4);
        var input = string.Join('\n', Enumerable.Range(0, 50).Select(i => $"line {i}")) + "\n";

        var run = await Cli.RunWithInputAsync(input, "produce", "-b", fixture.Cluster.BootstrapServers, "-t", topic, "--partition", "2", "--sync",
            "-X", "linger.ms=0");

        Assert.True(run.ExitCode == 0, run.All);
        Assert.Contains("50 records sent", run.Stderr, StringComparison.Ordinal);
        var records = RecordReader.ReadPartition(fixture.Cluster.BootstrapServers, topic, 2);
        Assert.Equal(Enumerable.Range(0, 50).Select(i => $"line {i}"), records.Select(r => Encoding.UTF8.GetString(r.Value!)));
        Assert.All(records, r => Assert.Null(r.Key));
    }

    [Fact]
    public async Task ProduceLineWithoutSeparatorFailsThatLineExitOne()
    {
        var topic = fixture.CreateTopic(1);
        var run = await Cli.RunWithInputAsync("a=1\nno separator here\nb=2\n", "produce", "-b", fixture.Cluster.BootstrapServers, "-t", topic, "--key-separator", "=");

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("line 2", run.Stderr, StringComparison.Ordinal);
        Assert.Contains("2 records sent, 1 failed", run.Stderr, StringComparison.Ordinal);
        run.AssertNoStackTrace();
        Assert.Equal(2, RecordReader.ReadAll(fixture.Cluster.BootstrapServers, topic, 2).Count);
    }

    [Fact]
    public async Task ProduceBadPartitionReportsLineNumbers()
    {
        var topic = fixture.CreateTopic(1);
        var run = await Cli.RunWithInputAsync("x\ny\n", "produce", "-b", fixture.Cluster.BootstrapServers, "-t", topic, "--partition", "7");

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("line 1:", run.Stderr, StringComparison.Ordinal);
        Assert.Contains("line 2:", run.Stderr, StringComparison.Ordinal);
        Assert.Contains("0 records sent, 2 failed", run.Stderr, StringComparison.Ordinal);
        run.AssertNoStackTrace();
    }

    [Fact]
    public async Task ProduceProducerConfigFileIsUsedAndExplicitOptionsOverrideIt()
    {
        var topic = fixture.CreateTopic(1);
        // The file names a broker that does not exist; the explicit --bootstrap-server wins.
        var config = _files.Write("producer.properties", "bootstrap.servers=127.0.0.1:1\nlinger.ms=1\nacks=1\n");
        var run = await Cli.RunWithInputAsync("one\ntwo\n", "produce", "--producer.config", config, "-X", "acks=0", "--acks", "all",
            "-b", fixture.Cluster.BootstrapServers, "-t", topic);

        Assert.True(run.ExitCode == 0, run.All);
        Assert.Equal(2, RecordReader.ReadAll(fixture.Cluster.BootstrapServers, topic, 2).Count);
    }

    [Fact]
    public async Task ProduceWithoutBootstrapUsesEmbeddedCluster()
    {
        var run = await Cli.RunWithInputAsync("a\nb\nc\n", "produce", "-t", "embedded");

        Assert.True(run.ExitCode == 0, run.All);
        Assert.Contains("embedded mock cluster", run.Stderr, StringComparison.Ordinal);
        Assert.Contains("3 records sent", run.Stderr, StringComparison.Ordinal);
    }
}
