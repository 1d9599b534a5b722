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

    private sealed class SyncStringWriter : StringWriter
    {
        private readonly Lock _gate = new();

        public override void Write(char value)
        {
            lock (_gate)
            {
                base.Write(value);
            }
        }

        public override void Write(string? value)
        {
            lock (_gate)
            {
                base.Write(value);
            }
        }

        public override void WriteLine(string? value)
        {
            lock (_gate)
            {
                base.WriteLine(value);
            }
        }

        public override string ToString()
        {
            lock (_gate)
            {
                return base.ToString();
            }
        }
    }
}
