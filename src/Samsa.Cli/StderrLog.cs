using Microsoft.Extensions.Logging;

namespace Samsa.Cli;

/// <summary>
/// The producer's log on stderr, one line per event at or above <c>--log-level</c>, as Kafka's own tools print
/// their log4j warnings: without it a command pointed at a broker nobody answers on waits silently until its
/// timeout. The lines go through <see cref="CliContext.Error"/>, so they never interleave with the command's own.
/// </summary>
internal sealed class StderrLog(CliContext context, LogLevel minimum) : ILoggerFactory
{
    // Fields, not the primary constructor's parameters: the nested logger reads them.
    private readonly CliContext _context = context;
    private readonly LogLevel _minimum = minimum;

    /// <summary>The names <c>--log-level</c> accepts, as Microsoft.Extensions.Logging spells them (any case).</summary>
    public static readonly string[] LevelNames = ["trace", "debug", "information", "warning", "error", "critical", "none"];

    /// <summary>Parses a <c>--log-level</c> value already checked against <see cref="LevelNames"/>.</summary>
    public static LogLevel ParseLevel(string name) => (LogLevel)Array.IndexOf(LevelNames, name.ToLowerInvariant());

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    /// <summary>Not supported: the CLI has one sink, stderr.</summary>
    public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException("samsa logs to stderr only.");

    public void Dispose()
    {
    }

    private static string Label(LogLevel level) => level switch
    {
        LogLevel.Trace => "trace",
        LogLevel.Debug => "debug",
        LogLevel.Information => "info",
        LogLevel.Warning => "warn",
        LogLevel.Error => "error",
        _ => "crit",
    };

    private sealed class Logger(StderrLog log, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None && logLevel >= log._minimum;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }

            // The exception's message, not its stack: a tool's user needs the cause; --log-level debug adds the type.
            var cause = exception is null ? "" : logLevel <= LogLevel.Debug ? $" ({exception.GetType().Name}: {exception.Message})" : $" ({exception.Message})";
            log._context.Error($"samsa: {Label(logLevel)}: {formatter(state, exception)}{cause} [{category} {eventId.Id}]");
        }
    }
}
