using System.Text.Json;

namespace Samsa.Cli.Tests;

[Collection(ClusterCollectionDefinition.Name)]
public sealed class PerfCommandTests(ClusterFixture fixture)
{
    [Theory]
    [InlineData("callback", "0")]
    [InlineData("await", "10")]
    public async Task PerfJsonPrintsOneObjectWithAllFields(string mode, string keys)
    {
        var topic = fixture.CreateTopic(6);
        var run = await Cli.RunAsync("perf", "-b", fixture.Cluster.BootstrapServers, "--topic", topic, "--num-records", "20000",
            "--record-size", "100", "--mode", mode, "--keys", keys, "--json");

        Assert.True(run.ExitCode == 0, run.All);
        using var doc = JsonDocument.Parse(run.Stdout); // exactly one JSON value, nothing else on stdout
        var root = doc.RootElement;
        Assert.Equal(20000, root.GetProperty("records").GetInt64());
        Assert.Equal(0, root.GetProperty("errors").GetInt64());
        foreach (var name in new[] { "seconds", "records_per_sec", "mb_per_sec", "cpu_seconds", "allocated_bytes", "resident_before_producer_bytes", "peak_resident_bytes", "buffer_memory" })
        {
            Assert.True(root.GetProperty(name).GetDouble() >= 0, name);
        }

        var latency = root.GetProperty("latency_ms");
        foreach (var name in new[] { "avg", "p50", "p95", "p99", "p999", "max" })
        {
            Assert.True(latency.GetProperty(name).GetDouble() >= 0, name);
        }

        Assert.True(latency.GetProperty("p50").GetDouble() <= latency.GetProperty("max").GetDouble());
    }

    [Fact]
    public async Task PerfHumanReportsPercentilesWithThrottle()
    {
        var topic = fixture.CreateTopic(2);
        var run = await Cli.RunAsync("perf", "-b", fixture.Cluster.BootstrapServers, "-t", topic, "-n", "2000", "-s", "10",
            "--throughput", "4000", "--keys", "3", "--compression", "zstd", "--linger-ms", "1");

        Assert.True(run.ExitCode == 0, run.All);
        foreach (var text in new[] { "records/s", "MB/s", "avg", "p50", "p95", "p99", "p99.9", "max" })
        {
            Assert.Contains(text, run.Stdout, StringComparison.Ordinal);
        }

        Assert.Contains("2,000 acknowledged, 0 errors", run.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PerfWithoutBootstrapUsesEmbeddedCluster()
    {
        var run = await Cli.RunAsync("perf", "-t", "demo", "-n", "1000", "-s", "50", "--json");

        Assert.True(run.ExitCode == 0, run.All);
        Assert.Contains("embedded mock cluster", run.Stderr, StringComparison.Ordinal);
        using var doc = JsonDocument.Parse(run.Stdout);
        Assert.Equal(1000, doc.RootElement.GetProperty("records").GetInt64());
    }
}

/// <summary>The real executable: perf runs its embedded cluster in a child process, which ends with it.</summary>
public sealed class PerfProcessTests
{
    [Fact]
    public async Task PerfRunsTheEmbeddedClusterInAChildProcessThatEndsWithIt()
    {
        var cliDll = Path.Combine(AppContext.BaseDirectory, "Samsa.Cli.dll");
        var psi = new System.Diagnostics.ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { cliDll, "perf", "-t", "demo", "-n", "2000", "-s", "10", "--warmup", "0.2", "--json" })
        {
            psi.ArgumentList.Add(arg);
        }

        using var process = System.Diagnostics.Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));

        Assert.True(process.ExitCode == 0, await stderr);
        Assert.Contains("in a child process", await stderr, StringComparison.Ordinal);
        using var doc = JsonDocument.Parse(await stdout);
        Assert.Equal(2000, doc.RootElement.GetProperty("records").GetInt64());

        // The child was a process of its own: nothing of it is left once perf has exited.
        var leftover = System.Diagnostics.Process.GetProcesses().Where(p => IsClusterChildOf(p, cliDll)).ToList();
        Assert.Empty(leftover);
    }

    private static bool IsClusterChildOf(System.Diagnostics.Process process, string cliDll)
    {
        try
        {
            var cmdline = File.ReadAllText($"/proc/{process.Id}/cmdline");
            return cmdline.Contains(cliDll, StringComparison.Ordinal) && cmdline.Contains("--until-stdin-closes", StringComparison.Ordinal);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
