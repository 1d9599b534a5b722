using Samsa.Cli;

namespace Samsa.Cli.Tests;

public sealed class ClusterCommandTests
{
    [Fact]
    public async Task ClusterPrintsBootstrapFirstAndStopsOnCancel()
    {
        using var output = new SyncStringWriter();
        using var error = new StringWriter();
        using var cts = new CancellationTokenSource();
        var task = CliApp.RunAsync(["cluster", "--brokers", "2", "--topic", "orders:3"], TextReader.Null, output, error, cancellationToken: cts.Token);

        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!output.ToString().Contains('\n', StringComparison.Ordinal) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        var first = output.ToString().Split('\n')[0];
        Assert.StartsWith("BOOTSTRAP 127.0.0.1:", first, StringComparison.Ordinal);
        var servers = first["BOOTSTRAP ".Length..].Trim();
        Assert.Equal(2, servers.Split(',').Length);

        // The cluster is usable: produce to the created topic through it.
        var run = await Cli.RunWithInputAsync("x\n", "produce", "-b", servers, "-t", "orders", "--partition", "2");
        Assert.True(run.ExitCode == 0, run.All);

        cts.Cancel();
        Assert.Equal(0, await task);
    }

    [Fact]
    public async Task UntilStdinClosesStopsTheClusterWhenItsInputEnds()
    {
        // What perf relies on for the cluster it runs in a child process: the child cannot outlive its parent.
        using var output = new SyncStringWriter();
        using var error = new StringWriter();
        using var input = new LineFeeder();
        var task = CliApp.RunAsync(["cluster", "--brokers", "1", "--until-stdin-closes"], input, output, error);

        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!output.ToString().Contains("BOOTSTRAP", StringComparison.Ordinal) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.False(task.IsCompleted, error.ToString());
        input.Complete();
        Assert.Equal(0, await task.WaitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task WithTheProxyTheOracleJudgesWhatWasProducedAndBadCommandsDoNotStopIt()
    {
        using var output = new SyncStringWriter();
        using var error = new SyncStringWriter();
        using var input = new LineFeeder();
        using var cts = new CancellationTokenSource();
        var task = CliApp.RunAsync(["cluster", "--brokers", "1", "--topic", "judged:1", "--proxy", "--rtt", "5"], input, output, error, cancellationToken: cts.Token);

        await WaitForAsync(output, "BOOTSTRAP ");
        var servers = output.ToString().Split('\n')[0]["BOOTSTRAP ".Length..].Trim();
        var run = await Cli.RunWithInputAsync("a\nb\nc\n", "produce", "-b", servers, "-t", "judged");
        Assert.True(run.ExitCode == 0, run.All);

        input.Send("no-such-command 1");
        input.Send("stall 7 100");
        input.Send("oracle");
        await WaitForAsync(output, "ORACLE ");
        await WaitForAsync(error, "ok: oracle"); // written after the report, on stderr
        Assert.Contains("duplicates 0, out-of-order 0, fenced 0, unknown-producer 0", output.ToString(), StringComparison.Ordinal);
        Assert.Contains("records a real broker would hold 3", output.ToString(), StringComparison.Ordinal);
        Assert.Contains("unknown command or wrong number of arguments: 'no-such-command 1'", error.ToString(), StringComparison.Ordinal);
        Assert.Contains("broker must be 1..1, got '7'", error.ToString(), StringComparison.Ordinal);
        Assert.Contains("ok: oracle", error.ToString(), StringComparison.Ordinal);

        cts.Cancel();
        Assert.Equal(0, await task);
    }

    [Fact]
    public async Task WithTheProxyTransactionsAreReportedAndAProducerCanBeFenced()
    {
        using var output = new SyncStringWriter();
        using var error = new SyncStringWriter();
        using var input = new LineFeeder();
        using var cts = new CancellationTokenSource();
        var task = CliApp.RunAsync(["cluster", "--brokers", "1", "--topic", "txn:1", "--proxy"], input, output, error, cancellationToken: cts.Token);

        await WaitForAsync(output, "BOOTSTRAP ");
        var servers = output.ToString().Split('\n')[0]["BOOTSTRAP ".Length..].Trim();
        var run = await Cli.RunWithInputAsync("a\nb\nc\n", "produce", "-b", servers, "-t", "txn", "--transactional-id", "console-txn", "--transaction-size", "2");
        Assert.True(run.ExitCode == 0, run.All);

        input.Send("transactions");
        await WaitForAsync(error, "ok: transactions");
        Assert.Contains("TRANSACTIONS transactions 2: committed 2, aborted 0, open 0", output.ToString(), StringComparison.Ordinal);
        Assert.Contains("TRANSACTION 'console-txn' #2", output.ToString(), StringComparison.Ordinal);

        input.Send("fence console-txn");
        await WaitForAsync(error, "ok: fence console-txn");
        Assert.Contains("FENCED console-txn: now producer id", output.ToString(), StringComparison.Ordinal);
        input.Send("fence nobody");
        await WaitForAsync(error, "No InitProducerId for transactional id 'nobody'");

        cts.Cancel();
        Assert.Equal(0, await task);
    }

    [Fact]
    public async Task ClusterCommandsApplyToTheMockAndProxyCommandsNeedTheProxy()
    {
        using var output = new SyncStringWriter();
        using var error = new SyncStringWriter();
        using var input = new LineFeeder();
        using var cts = new CancellationTokenSource();
        var task = CliApp.RunAsync(["cluster", "--brokers", "2", "--topic", "moved:1"], input, output, error, cancellationToken: cts.Token);
        await WaitForAsync(output, "BOOTSTRAP ");

        foreach (var line in new[] { "rtt all 3", "leader moved 0 2", "down 1", "up 1", "drop-response Produce 1", "close-after produce", "leader moved 0 x", "leader moved -1 1" })
        {
            input.Send(line);
        }

        input.Send("rtt 1 0");
        await WaitForAsync(error, "ok: rtt 1 0");
        var stderr = error.ToString();
        foreach (var ok in new[] { "ok: rtt all 3", "ok: leader moved 0 2", "ok: down 1", "ok: up 1" })
        {
            Assert.Contains(ok, stderr, StringComparison.Ordinal);
        }

        Assert.Equal(2, stderr.Split("this command needs the proxy").Length - 1);
        Assert.Contains("broker must be 1..2, got 'x'", stderr, StringComparison.Ordinal);
        Assert.Contains("partition must be a number >= 0, got '-1'", stderr, StringComparison.Ordinal);

        cts.Cancel();
        Assert.Equal(0, await task);
    }

    [Fact]
    public async Task WithASaslFrontProducersMustAuthenticateAndPasswordsAreNotPrinted()
    {
        using var output = new SyncStringWriter();
        using var error = new SyncStringWriter();
        using var input = new LineFeeder();
        using var cts = new CancellationTokenSource();
        var task = CliApp.RunAsync(
            ["cluster", "--brokers", "1", "--topic", "secured:1", "--sasl-scram", "SHA-512:alice:alice-pw:with-colon", "--sasl-plain", "bob:bob-pw", "--sasl-session-lifetime", "60000"],
            input, output, error, cancellationToken: cts.Token);
        await WaitForAsync(output, "BOOTSTRAP ");
        var servers = output.ToString().Split('\n')[0]["BOOTSTRAP ".Length..].Trim();

        var jaas = "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"alice\" password=\"alice-pw:with-colon\";";
        var run = await Cli.RunWithInputAsync("a\nb\n", "produce", "-b", servers, "-t", "secured", "-X", "security.protocol=SASL_PLAINTEXT", "-X", "sasl.mechanism=SCRAM-SHA-512", "-X", jaas);
        Assert.True(run.ExitCode == 0, run.All);

        var refused = await Cli.RunWithInputAsync("c\n", "produce", "-b", servers, "-t", "secured", "-X", "security.protocol=SASL_PLAINTEXT", "-X", "sasl.mechanism=PLAIN",
            "-X", "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username=\"bob\" password=\"not-bobs-pw\";");
        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains("Invalid username or password", refused.All, StringComparison.Ordinal);
        Assert.DoesNotContain("not-bobs-pw", refused.All, StringComparison.Ordinal);
        refused.AssertNoStackTrace();

        input.Send("sasl");
        await WaitForAsync(output, "SASL ");
        // The bootstrap connection and the broker's (the same broker, known by two names) each authenticated; bob's attempt failed once.
        Assert.Matches(@"SASL authentications [12], re-authentications 0, failed 1, expired-session closures 0, violations 0", output.ToString());
        Assert.Contains("PLAIN, SCRAM-SHA-512, sessions of 60000 ms", error.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("alice-pw", output.ToString() + error.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("bob-pw", output.ToString() + error.ToString(), StringComparison.Ordinal);

        cts.Cancel();
        Assert.Equal(0, await task);
    }

    [Theory]
    [InlineData("--sasl-plain", "no-colon-secret")]
    [InlineData("--sasl-scram", "SHA-1:u:secretpw")]
    public async Task MalformedSaslCredentialsAreUsageErrorsThatDoNotEchoThePassword(string option, string value)
    {
        var run = await Cli.RunAsync("cluster", option, value);
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains(option, run.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", run.All, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HelpListsTheStdinCommands()
    {
        var run = await Cli.RunAsync("cluster", "--help");
        foreach (var word in new[] { "--rtt", "--proxy", "--sasl-plain", "--sasl-scram", "--sasl-session-lifetime", "sasl ", "drop-response <api> <n>", "close-after <api>", "stall <broker|all> <ms>", "leader <topic> <partition> <broker>", "oracle", "transactions", "fence <transactional-id>" })
        {
            Assert.Contains(word, run.Stdout, StringComparison.Ordinal);
        }
    }

    private static async Task WaitForAsync(StringWriter writer, string text)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!writer.ToString().Contains(text, StringComparison.Ordinal) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.True(writer.ToString().Contains(text, StringComparison.Ordinal), $"'{text}' did not appear within 30 s in:{Environment.NewLine}{writer}");
    }

    /// <summary>A stdin whose lines the test sends while the command runs.</summary>
    private sealed class LineFeeder : TextReader
    {
        private readonly System.Threading.Channels.Channel<string> _lines = System.Threading.Channels.Channel.CreateUnbounded<string>();

        public void Send(string line) => _lines.Writer.TryWrite(line);

        /// <summary>Ends the input, as a closed pipe does.</summary>
        public void Complete() => _lines.Writer.TryComplete();

        public override async ValueTask<string?> ReadLineAsync(CancellationToken cancellationToken) =>
            await _lines.Reader.WaitToReadAsync(cancellationToken) && _lines.Reader.TryRead(out var line) ? line : null;
    }
}
