using Samsa.Cli;

namespace Samsa.Cli.Tests;

/// <summary>The outcome of one in-process run of the CLI.</summary>
public sealed record CliRun(int ExitCode, string Stdout, string Stderr)
{
    public string All => Stdout + Stderr;

    /// <summary>No .NET stack-trace line anywhere in the output.</summary>
    public void AssertNoStackTrace()
    {
        Assert.DoesNotContain("   at ", All, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", All, StringComparison.Ordinal);
    }
}

internal static class Cli
{
    public static async Task<CliRun> RunWithInputAsync(string stdin, params string[] args) => (await RunObservedAsync(stdin, args)).Run;

    public static Task<CliRun> RunAsync(params string[] args) => RunWithInputAsync("", args);

    /// <summary>Runs the CLI and also returns the options its producer was built with (null when it built none).</summary>
    public static async Task<(CliRun Run, ProducerOptions? Options)> RunObservedAsync(string stdin, params string[] args)
    {
        using var input = new StringReader(stdin);
        using var output = new StringWriter();
        using var error = new StringWriter();
        ProducerOptions? options = null;
        var context = new CliContext(input, output, error, StdoutIsTerminal: false, CancellationToken.None) { ProducerOptionsObserver = o => options = o };
        var code = await CliApp.RunAsync(args, context);
        return (new CliRun(code, output.ToString(), error.ToString()), options);
    }
}
