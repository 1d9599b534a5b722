using System.Text;
using System.Text.Json;
using Samsa.IntegrationTests.Infrastructure;

namespace Samsa.Cli.Tests;

/// <summary>
/// The flags of Kafka's own tools work as they do there: kafka-console-producer's (--bootstrap-server, --broker-list, --topic,
/// --property parse.key/key.separator/parse.headers/headers.*, --producer-property, --producer.config,
/// --request-required-acks, --compression-codec, --sync) and kafka-producer-perf-test's (--num-records,
/// --record-size, --throughput, --producer-props, --producer.config, --payload-file, --print-metrics). A flag that sets
/// a producer option is checked in the options the producer was built with, not only by the exit code.
/// </summary>
[Collection(ClusterCollectionDefinition.Name)]
public sealed class KafkaToolFlagTests(ClusterFixture fixture) : IDisposable
{
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public async Task ConsoleProducerParseKeyWithItsDefaultTabSeparator()
    {
        var topic = fixture.CreateTopic(1);
        var config = _files.Write("producer.properties", "linger.ms=1\n");
        var (run, options) = await Cli.RunObservedAsync("k1\tv1\nk2\tv\t2\n",
            "produce", "--bootstrap-server", fixture.Cluster.BootstrapServers, "--topic", topic,
            "--property", "parse.key=true", "--request-required-acks", "1", "--compression-codec", "--sync",
            "--producer-property", "client.id=console", "--producer.config", config);

        Assert.True(run.ExitCode == 0, run.All);

        // Each flag reached the producer: acks=1, gzip (--compression-codec without a value), the client id, the file's linger.
        Assert.NotNull(options);
        Assert.Equal(Acks.Leader, options.Acks);
        Assert.Equal(CompressionType.Gzip, options.CompressionType);
        Assert.Equal("console", options.ClientId);
        Assert.Equal(TimeSpan.FromMilliseconds(1), options.Linger);
        Assert.Equal(fixture.Cluster.BootstrapServers.Split(","), options.BootstrapServers);
        var records = RecordReader.ReadAll(fixture.Cluster.BootstrapServers, topic, 2);
        Assert.Equal(["k1", "k2"], records.Select(r => Encoding.UTF8.GetString(r.Key!)));
        Assert.Equal(["v1", "v\t2"], records.Select(r => Encoding.UTF8.GetString(r.Value!)));
    }

    [Fact]
    public async Task ConsoleProducerBrokerListIsTheBootstrapServer()
    {
        var topic = fixture.CreateTopic(1);
        var (run, options) = await Cli.RunObservedAsync("one\ntwo\n", "produce", "--broker-list", fixture.Cluster.BootstrapServers, "--topic", topic);

        Assert.True(run.ExitCode == 0, run.All);
        Assert.DoesNotContain("embedded", run.Stderr, StringComparison.Ordinal);
        Assert.Equal(fixture.Cluster.BootstrapServers.Split(","), options!.BootstrapServers);
        var records = RecordReader.ReadAll(fixture.Cluster.BootstrapServers, topic, 2);
        Assert.Equal(["one", "two"], records.Select(r => Encoding.UTF8.GetString(r.Value!)));
    }

    [Theory]
    [InlineData("lz4", CompressionType.Lz4)]
    [InlineData("none", CompressionType.None)]
    public async Task ConsoleProducerCompressionCodecSetsTheCompressionType(string codec, CompressionType expected)
    {
        var topic = fixture.CreateTopic(1);
        var (run, options) = await Cli.RunObservedAsync("x\n", "produce", "-b", fixture.Cluster.BootstrapServers, "-t", topic, "--compression-codec", codec);

        Assert.True(run.ExitCode == 0, run.All);
        Assert.Equal(expected, options!.CompressionType);
    }

    [Theory]
    [InlineData("0", Acks.None)]
    [InlineData("all", Acks.All)]
    public async Task ConsoleProducerRequestRequiredAcksSetsAcks(string acks, Acks expected)
    {
        var topic = fixture.CreateTopic(1);
        var (run, options) = await Cli.RunObservedAsync("x\n", "produce", "-b", fixture.Cluster.BootstrapServers, "-t", topic, "--request-required-acks", acks);

        Assert.True(run.ExitCode == 0, run.All);
        Assert.Equal(expected, options!.Acks);
    }

    [Fact]
    public async Task ConsoleProducerParseHeadersWithKafkasDefaultsAndACustomKeySeparator()
    {
        var topic = fixture.CreateTopic(1);
        var run = await Cli.RunWithInputAsync("h1:a,h2:b\tkey=value\nsolo:x\tk2=v2\nno headers here\n",
            "produce", "--bootstrap-server", fixture.Cluster.BootstrapServers, "--topic", topic,
            "--property", "parse.headers=true", "--property", "parse.key=true", "--property", "key.separator==",
            "--compression-codec", "lz4");

        Assert.Equal(1, run.ExitCode); // the third line has no headers delimiter
        Assert.Contains("line 3: no headers delimiter", run.Stderr, StringComparison.Ordinal);
        Assert.Contains("2 records sent, 1 failed", run.Stderr, StringComparison.Ordinal);
        var records = RecordReader.ReadAll(fixture.Cluster.BootstrapServers, topic, 2);
        Assert.Equal([("h1", "a"), ("h2", "b")], records[0].Headers.Select(h => (h.Key, Encoding.UTF8.GetString(h.Value!))));
        Assert.Equal("key", Encoding.UTF8.GetString(records[0].Key!));
        Assert.Equal("value", Encoding.UTF8.GetString(records[0].Value!));
        Assert.Equal([("solo", "x")], records[1].Headers.Select(h => (h.Key, Encoding.UTF8.GetString(h.Value!))));
    }

    [Fact]
    public async Task ConsoleProducerCustomHeaderSeparatorsNullMarkerAndIgnoreError()
    {
        var topic = fixture.CreateTopic(1);
        var run = await Cli.RunWithInputAsync("a=1;b=NULL|k|v\nplain line\n",
            "produce", "-b", fixture.Cluster.BootstrapServers, "-t", topic,
            "--property", "parse.headers=true", "--property", "headers.delimiter=|", "--property", "headers.separator=;",
            "--property", "headers.key.separator==", "--property", "parse.key=true", "--property", "key.separator=|",
            "--property", "null.marker=NULL", "--property", "ignore.error=true");

        Assert.True(run.ExitCode == 0, run.All);
        var records = RecordReader.ReadAll(fixture.Cluster.BootstrapServers, topic, 2);
        Assert.Equal("a", records[0].Headers[0].Key);
        Assert.Null(records[0].Headers[1].Value);
        Assert.Equal("k", Encoding.UTF8.GetString(records[0].Key!));
        Assert.Null(records[1].Key); // ignore.error: sent as it is
        Assert.Equal("plain line", Encoding.UTF8.GetString(records[1].Value!));
    }

    [Theory]
    [InlineData("parse.key=maybe", "true or false")]
    [InlineData("key.separator=", "must not be empty")]
    [InlineData("print.timestamp=true", "not a line reader setting")]
    public async Task BadPropertiesAreUsageErrors(string property, string mentioned)
    {
        var run = await Cli.RunAsync("produce", "-t", "x", "-b", "127.0.0.1:1", "--property", property);
        Assert.Equal(2, run.ExitCode);
        Assert.Contains(mentioned, run.Stderr, StringComparison.Ordinal);
        run.AssertNoStackTrace();
    }

    [Fact]
    public async Task JsonLinesCarryKeyValueHeadersPartitionAndTimestampAndBadLinesFailAlone()
    {
        var topic = fixture.CreateTopic(3);
        var input = string.Join('\n',
            """{"key": "k1", "value": "v1", "headers": {"h": "x", "n": null}, "partition": 2, "timestamp": 1700000000123}""",
            """not json""",
            """{"key": "k2", "value": null}""",
            """{"key": 5}""",
            """{"valeu": "typo"}""",
            """{"value": "keyless", "partition": 1}""",
            """{"value": "x", "partition": -1}""") + "\n";

        var run = await Cli.RunWithInputAsync(input, "produce", "-b", fixture.Cluster.BootstrapServers, "-t", topic, "--format", "json", "--partition", "0");

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("3 records sent, 4 failed", run.Stderr, StringComparison.Ordinal);
        Assert.Contains("line 2: not a JSON object", run.Stderr, StringComparison.Ordinal);
        Assert.Contains("line 4: 'key' must be a string or null", run.Stderr, StringComparison.Ordinal);
        Assert.Contains("line 5: unknown field 'valeu'", run.Stderr, StringComparison.Ordinal);
        Assert.Contains("line 7: 'partition' must be a whole number", run.Stderr, StringComparison.Ordinal);
        run.AssertNoStackTrace();

        var first = Assert.Single(RecordReader.ReadPartition(fixture.Cluster.BootstrapServers, topic, 2));
        Assert.Equal("k1", Encoding.UTF8.GetString(first.Key!));
        Assert.Equal(1700000000123, first.TimestampMs);
        Assert.Equal([("h", "x")], first.Headers.Where(h => h.Value is not null).Select(h => (h.Key, Encoding.UTF8.GetString(h.Value!))));
        Assert.Contains(first.Headers, h => h.Key == "n" && h.Value is null);
        var tombstone = Assert.Single(RecordReader.ReadPartition(fixture.Cluster.BootstrapServers, topic, 0)); // --partition for lines without one
        Assert.Null(tombstone.Value);
        var keyless = Assert.Single(RecordReader.ReadPartition(fixture.Cluster.BootstrapServers, topic, 1));
        Assert.Null(keyless.Key);
    }

    [Fact]
    public async Task JsonFormatRefusesTheLineReaderOptions()
    {
        var run = await Cli.RunAsync("produce", "-t", "x", "-b", "127.0.0.1:1", "--format", "json", "--key-separator", ":");
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("--format json", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PerfTestFlagsWithPayloadFileProducerPropsAndPrintMetrics()
    {
        var topic = fixture.CreateTopic(2);
        var payloads = _files.Write("payloads.txt", "alpha\nbeta\n\ngamma\n");
        var config = _files.Write("perf.properties", "acks=1\n");
        var (run, options) = await Cli.RunObservedAsync("", "perf", "--topic", topic, "--num-records", "300", "--payload-file", payloads, "--throughput", "-1",
            "--producer-props", $"bootstrap.servers={fixture.Cluster.BootstrapServers}", "linger.ms=2", "--producer.config", config,
            "--warmup", "0", "--print-metrics");

        Assert.True(run.ExitCode == 0, run.All);
        Assert.NotNull(options);
        Assert.Equal(Acks.Leader, options.Acks); // from --producer.config
        Assert.Equal(TimeSpan.FromMilliseconds(2), options.Linger); // from --producer-props
        Assert.Equal(fixture.Cluster.BootstrapServers.Split(","), options.BootstrapServers);
        Assert.Contains("acks=1,", run.Stdout, StringComparison.Ordinal); // and perf says so
        Assert.Contains("Metric Name", run.Stdout, StringComparison.Ordinal);
        Assert.Matches(@"producer-metrics:record-send-total:\{client-id=samsa-perf\}\s+: 300\.000", run.Stdout);
        Assert.Matches(@"producer-metrics:record-error-total:\{client-id=samsa-perf\}\s+: 0\.000", run.Stdout);
        Assert.Matches(@"producer-metrics:buffer-total-bytes:\{client-id=samsa-perf\}\s+: \d+\.000", run.Stdout);
        Assert.Matches(@"samsa-producer-health:fatal:\{client-id=samsa-perf\}\s+: 0\.000", run.Stdout);

        var values = RecordReader.ReadAll(fixture.Cluster.BootstrapServers, topic, 300).Select(r => Encoding.UTF8.GetString(r.Value!)).ToHashSet();
        Assert.Subset(new HashSet<string> { "alpha", "beta", "gamma" }, values);
        Assert.True(values.Count > 1, "the payloads are chosen at random");
    }

    [Fact]
    public async Task PerfPrintMetricsWithJsonAddsAMetricsObject()
    {
        var topic = fixture.CreateTopic(1);
        var run = await Cli.RunAsync("perf", "-b", fixture.Cluster.BootstrapServers, "--topic", topic, "--num-records", "50", "--record-size", "10",
            "--warmup", "0", "--json", "--print-metrics");

        Assert.True(run.ExitCode == 0, run.All);
        using var doc = JsonDocument.Parse(run.Stdout);
        Assert.Equal(50, doc.RootElement.GetProperty("metrics").GetProperty("producer-metrics:record-send-total:{client-id=samsa-perf}").GetDouble());
    }

    [Theory]
    [InlineData(new[] { "perf", "-t", "x", "-n", "10" }, "--record-size")]
    [InlineData(new[] { "perf", "-t", "x", "-n", "10", "-s", "5", "--producer-props", "novalue" }, "key=value")]
    public async Task PerfRecordSizeOrPayloadFileExactlyOne(string[] args, string mentioned)
    {
        var run = await Cli.RunAsync(args);
        Assert.Equal(2, run.ExitCode);
        Assert.Contains(mentioned, run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PerfRefusesRecordSizeAndPayloadFileTogether()
    {
        var run = await Cli.RunAsync("perf", "-t", "x", "-n", "10", "-s", "5", "--payload-file", _files.Write("p.txt", "a\n"));
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("not both", run.Stderr, StringComparison.Ordinal);
    }
}
