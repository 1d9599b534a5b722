namespace Samsa.Cli.Tests;

/// <summary>The producer's log on stderr (<c>--log-level</c>), with nothing listening at the bootstrap address.</summary>
public sealed class LogLevelTests
{
    private static readonly string[] Unreachable = ["produce", "-b", "127.0.0.1:1", "-t", "t", "-X", "max.block.ms=1500"];

    [Fact]
    public async Task AnUnreachableBrokerIsReportedOnStderrAtTheDefaultLevel()
    {
        var run = await Cli.RunWithInputAsync("a\n", Unreachable);

        Assert.Equal(1, run.ExitCode);
        var warning = Assert.Single(run.Stderr.Split('\n'), l => l.Contains("[Samsa.Network 1302]", StringComparison.Ordinal));
        Assert.StartsWith("samsa: warn: Cannot reach broker 127.0.0.1:1", warning, StringComparison.Ordinal);
        Assert.Contains("1 failed", run.Stderr, StringComparison.Ordinal);
        Assert.Empty(run.Stdout);
        run.AssertNoStackTrace();
    }

    [Fact]
    public async Task LevelNoneSilencesTheLogAndDebugShowsConnectionAttempts()
    {
        var quiet = await Cli.RunWithInputAsync("a\n", [.. Unreachable, "--log-level", "none"]);
        Assert.Equal(1, quiet.ExitCode);
        Assert.DoesNotContain("samsa: warn:", quiet.Stderr, StringComparison.Ordinal);
        Assert.Contains("1 failed", quiet.Stderr, StringComparison.Ordinal);

        var verbose = await Cli.RunWithInputAsync("a\n", [.. Unreachable, "--log-level", "Debug"]);
        Assert.Contains("samsa: warn: Cannot reach broker", verbose.Stderr, StringComparison.Ordinal);
        Assert.Contains("samsa: debug: ", verbose.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnUnknownLevelIsAUsageErrorThatListsTheLevels()
    {
        var run = await Cli.RunAsync("produce", "-t", "t", "--log-level", "loud");

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("--log-level must be one of trace, debug, information, warning, error, critical, none; got 'loud'", run.Stderr, StringComparison.Ordinal);
    }
}
