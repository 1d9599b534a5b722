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
    public static async Task<CliRun> RunWithInputAsync(string stdin, params string[] args)
    {
        using var input = new StringReader(stdin);
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await CliApp.RunAsync(args, input, output, error);
        return new CliRun(code, output.ToString(), error.ToString());
    }

    public static Task<CliRun> RunAsync(params string[] args) => RunWithInputAsync("", args);
}
