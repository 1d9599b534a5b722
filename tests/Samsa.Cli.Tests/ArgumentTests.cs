namespace Samsa.Cli.Tests;

public sealed class ArgumentTests
{
    public static TheoryData<string[], string> BadArguments => new()
    {
        { ["produce", "-t", "x", "--bogus"], "--bogus" },
        { ["produce", "-t", "x", "--acks", "2"], "--acks" },
        { ["perf", "-t", "x", "-n", "10", "-s", "1", "--acks", "2"], "--acks" },
        { ["produce", "-t", "x", "-X", "linger.ms"], "key=value" },
        { ["produce", "-t", "x", "--header", "novalue"], "key=value" },
        { ["produce", "-t", "x", "/nonexistent/input.txt"], "/nonexistent/input.txt" },
        { ["produce", "-t", "x", "--producer.config", "/nonexistent/p.properties"], "/nonexistent/p.properties" },
        { ["produce", "-t", "x", "-X", "lingr.ms=5"], "lingr.ms" },
        { ["perf", "-t", "x", "-n", "10", "-s", "1", "-X", "batch.size=abc"], "batch.size" },
        { ["perf", "-t", "x", "-n", "0", "-s", "1"], "--num-records" },
        { ["perf", "-t", "x", "-s", "1"], "--num-records" },
        { ["perf", "-t", "x", "-n", "10", "-s", "1", "--mode", "sync"], "--mode" },
        { ["perf", "-t", "x", "-n", "10", "-s", "1", "--compression", "brotli"], "--compression" },
        { ["perf", "-t", "x", "-n", "10", "-s", "1", "--warmup", "-1"], "--warmup" },
        { ["produce", "--topic"], "--topic" },
        { ["cluster", "--topic", "orders"], "NAME:PARTITIONS" },
        { ["nope"], "nope" },
        { ["produce", "-t", "x", "-b", ""], "bootstrap servers are empty" },
        { ["perf", "-t", "x", "-n", "10", "-s", "1", "-X", "bootstrap.servers="], "bootstrap servers are empty" },
        { ["produce", "-t", "x", "-X", "metadata.broker.list="], "metadata.broker.list (librdkafka's bootstrap.servers)" },
        { ["perf", "-t", "x", "-n", "10", "-s", "1", "--producer-props", "metadata.broker.list= "], "bootstrap servers are empty" },
    };

    [Theory]
    [MemberData(nameof(BadArguments))]
    public async Task BadArgumentsClearMessageNonZeroExitNoStackTrace(string[] args, string mentioned)
    {
        var run = await Cli.RunAsync(args);

        Assert.NotEqual(0, run.ExitCode);
        Assert.StartsWith("samsa: ", run.Stderr, StringComparison.Ordinal);
        Assert.Contains(mentioned, run.Stderr, StringComparison.Ordinal);
        run.AssertNoStackTrace();
    }

    [Fact]
    public async Task UnreadableProducerConfigIsAUsageError()
    {
        var dir = Directory.CreateTempSubdirectory("samsa-cli-dir").FullName;
        try
        {
            // A directory passes the "exists" check of some parsers but cannot be read as a file.
            var run = await Cli.RunAsync("produce", "-t", "x", "--producer.config", dir);
            Assert.NotEqual(0, run.ExitCode);
            Assert.StartsWith("samsa: ", run.Stderr, StringComparison.Ordinal);
            run.AssertNoStackTrace();
        }
        finally
        {
            Directory.Delete(dir);
        }
    }

    public static TheoryData<string, string[]> CommandOptions => new()
    {
        { "produce", ["--bootstrap-server", "--topic", "FILE", "--key-separator", "--header", "--partition", "--acks", "--compression", "--linger-ms", "--batch-size", "--sync", "--producer-property", "-X", "--producer.config"] },
        { "perf", ["--topic", "--num-records", "--record-size", "--bootstrap-server", "--throughput", "--keys", "--mode", "--warmup", "--acks", "--compression", "--producer-property", "-X", "--producer.config", "--json"] },
        { "cluster", ["--brokers", "--topic"] },
    };

    [Theory]
    [MemberData(nameof(CommandOptions))]
    public async Task HelpListsEveryOption(string command, string[] options)
    {
        var run = await Cli.RunAsync(command, "--help");

        Assert.Equal(0, run.ExitCode);
        foreach (var option in options)
        {
            Assert.Contains(option, run.Stdout, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task RootHelpListsCommands()
    {
        var run = await Cli.RunAsync("--help");
        Assert.Equal(0, run.ExitCode);
        Assert.Contains("produce", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("perf", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("cluster", run.Stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--version")]
    [InlineData("produce", "--version")]
    [InlineData("perf", "--version")]
    [InlineData("cluster", "--version")]
    [InlineData("perf", "--topic", "t", "--version")]
    public async Task VersionOnEveryCommandPrintsThePackageVersion(params string[] args)
    {
        var run = await Cli.RunAsync(args);

        Assert.Equal(0, run.ExitCode);
        Assert.Equal("", run.Stderr);
        // The tool's own version (the package's), without build metadata, whatever the host process is.
        var expected = typeof(CliApp).Assembly
            .GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .Cast<System.Reflection.AssemblyInformationalVersionAttribute>().Single().InformationalVersion.Split('+')[0];
        Assert.Equal(expected, run.Stdout.Trim());
        Assert.Matches(@"^\d+\.\d+\.\d+", run.Stdout.Trim());
    }
}
