using System.CommandLine;
using System.Reflection;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;

namespace Samsa.Cli;

/// <summary>Exit codes of every command.</summary>
public static class ExitCodes
{
    /// <summary>Everything worked: every record was acknowledged.</summary>
    public const int Success = 0;

    /// <summary>Some record failed or was never acknowledged, or the run failed (e.g. a Kafka error).</summary>
    public const int Failed = 1;

    /// <summary>Bad arguments, configuration or input file.</summary>
    public const int Usage = 2;
}

/// <summary>The I/O a command runs with; tests pass their own writers.</summary>
internal sealed record CliContext(TextReader Stdin, TextWriter Stdout, TextWriter Stderr, bool StdoutIsTerminal, CancellationToken Cancellation)
{
    /// <summary>
    /// True in a real <c>samsa</c> process, which may run itself again (the embedded cluster of <c>perf</c>); false when
    /// a host such as a test calls <see cref="CliApp.RunAsync(string[], TextReader, TextWriter, TextWriter, bool, bool, CancellationToken)"/>, whose executable is not <c>samsa</c>.
    /// </summary>
    public bool CanStartChildProcesses { get; init; }

    /// <summary>
    /// Sees the options a command's producer is built with, once they are final (the embedded cluster's address
    /// included); null in the tool. Tests use it to check that each flag takes effect, not only that it parses.
    /// </summary>
    public Action<ProducerOptions>? ProducerOptionsObserver { get; init; }

    private readonly Lock _gate = new();

    /// <summary>Writes one line to stderr; safe from any thread (delivery handlers, timers).</summary>
    public void Error(string line)
    {
        lock (_gate)
        {
            Stderr.WriteLine(line);
            Stderr.Flush();
        }
    }

    /// <summary>Writes to stdout under the same lock as <see cref="Error"/>.</summary>
    public void Out(string text, bool newLine = true)
    {
        lock (_gate)
        {
            if (newLine)
            {
                Stdout.WriteLine(text);
            }
            else
            {
                Stdout.Write(text);
            }

            Stdout.Flush();
        }
    }
}

/// <summary>A problem with the user's input (arguments, files): reported as one line, exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>The command tree and its entry point.</summary>
public static class CliApp
{
    /// <summary>
    /// Parses <paramref name="args"/> and runs the command. Never throws for bad input: errors are one
    /// line on <paramref name="stderr"/> and a non-zero exit code (see <see cref="ExitCodes"/>).
    /// <paramref name="canStartChildProcesses"/> is true only in the <c>samsa</c> executable itself, which may run
    /// itself again (see <see cref="CliContext.CanStartChildProcesses"/>).
    /// </summary>
    public static Task<int> RunAsync(
        string[] args,
        TextReader stdin,
        TextWriter stdout,
        TextWriter stderr,
        bool stdoutIsTerminal = false,
        bool canStartChildProcesses = false,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        return RunAsync(args, new CliContext(stdin, stdout, stderr, stdoutIsTerminal, cancellationToken) { CanStartChildProcesses = canStartChildProcesses });
    }

    /// <summary>As the public <c>RunAsync</c>, with the I/O and the rest of the run given as a <see cref="CliContext"/>.</summary>
    internal static async Task<int> RunAsync(string[] args, CliContext context)
    {
        var (stdout, stderr, cancellationToken) = (context.Stdout, context.Stderr, context.Cancellation);
        var root = BuildRootCommand(context);
        var parseResult = root.Parse(args.Length == 0 ? ["--help"] : args);
        if (args.Length == 0)
        {
            await parseResult.InvokeAsync(new InvocationConfiguration { Output = stderr, Error = stderr }, cancellationToken).ConfigureAwait(false);
            return ExitCodes.Usage;
        }

        if (parseResult.Action is ParseErrorAction)
        {
            // The first error, as one line (the rest usually follow from it), naming the option when there is one.
            foreach (var error in parseResult.Errors.OrderBy(e => e.Message.StartsWith("Required command", StringComparison.Ordinal) ? 1 : 0).Take(1))
            {
                var message = string.Join(' ', error.Message.Split(['\r', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
                var prefix = error.SymbolResult is OptionResult o && !message.Contains(o.Option.Name, StringComparison.Ordinal) ? $"{o.Option.Name}: " : "";
                context.Error($"samsa: {prefix}{message}");
            }

            if (parseResult.Errors.Count > 1)
            {
                context.Error($"samsa: ({parseResult.Errors.Count - 1} more error{(parseResult.Errors.Count > 2 ? "s" : "")})");
            }

            var command = parseResult.CommandResult.Command;
            var path = command == root ? "samsa" : $"samsa {command.Name}";
            context.Error($"Try '{path} --help' for usage.");
            return ExitCodes.Usage;
        }

        try
        {
            return await parseResult.InvokeAsync(
                new InvocationConfiguration
                {
                    Output = stdout,
                    Error = stderr,
                    EnableDefaultExceptionHandler = false,
                    ProcessTerminationTimeout = null, // Program.cs owns Ctrl+C and SIGTERM
                },
                cancellationToken).ConfigureAwait(false);
        }
        catch (UsageException e)
        {
            context.Error($"samsa: {e.Message}");
            return ExitCodes.Usage;
        }
        catch (ConfigException e)
        {
            context.Error($"samsa: invalid producer configuration: {e.Message}");
            return ExitCodes.Usage;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            context.Error($"samsa: {e.Message}");
            return ExitCodes.Usage;
        }
        catch (KafkaException e)
        {
            context.Error($"samsa: {e.Message}");
            return ExitCodes.Failed;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            context.Error("samsa: interrupted.");
            return ExitCodes.Failed;
        }
        catch (Exception e) when (e is InvalidOperationException or DllNotFoundException or EntryPointNotFoundException)
        {
            // E.g. the embedded cluster failing to start (librdkafka missing or a port problem).
            context.Error($"samsa: {e.GetType().Name}: {e.Message}");
            return ExitCodes.Failed;
        }
    }

    internal static Command BuildRootCommand(CliContext context)
    {
        // A plain Command rather than RootCommand, so that usage says "samsa" whatever the host process is called.
        var root = new Command("samsa", "samsa: a Kafka producer command-line tool (pure .NET). " +
            "Without --bootstrap-server, produce and perf start an embedded mock cluster.");
        root.Options.Add(new HelpOption());
        root.Subcommands.Add(ProduceCommand.Create(context));
        root.Subcommands.Add(PerfCommand.Create(context));
        root.Subcommands.Add(ClusterCommand.Create(context));
        AddVersionOption(root);
        return root;
    }

    /// <summary>
    /// The tool's version, as its package has it (e.g. <c>0.1.0</c>): the informational version of this assembly
    /// without build metadata (<c>+commit</c>). Not the entry assembly's, which is a test host's under tests.
    /// </summary>
    internal static string Version { get; } = GetVersion();

    private static string GetVersion()
    {
        var version = typeof(CliApp).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
            ?? typeof(CliApp).Assembly.GetName().Version?.ToString()
            ?? "unknown";
        var plus = version.IndexOf('+', StringComparison.Ordinal);
        return plus < 0 ? version : version[..plus];
    }

    /// <summary><c>--version</c> on every command (as Kafka's tools have it), printing <see cref="Version"/>.</summary>
    private static void AddVersionOption(Command command)
    {
        command.Options.Add(new VersionOption { Action = new PrintVersionAction() });
        foreach (var sub in command.Subcommands)
        {
            AddVersionOption(sub);
        }
    }

    private sealed class PrintVersionAction : SynchronousCommandLineAction
    {
        // `samsa perf --version` prints the version even though perf's required options are missing.
        public override bool ClearsParseErrors => true;

        public override int Invoke(ParseResult parseResult)
        {
            parseResult.InvocationConfiguration.Output.WriteLine(Version);
            return ExitCodes.Success;
        }
    }
}
