using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Samsa.IntegrationTests.Infrastructure;

/// <summary>An <see cref="ILogger"/> that keeps every entry, at every level, for tests to assert on.</summary>
public sealed class ListLogger : ILogger
{
    private readonly ConcurrentQueue<LogEntry> _entries;
    private readonly string _category;

    public ListLogger()
        : this(new ConcurrentQueue<LogEntry>(), "")
    {
    }

    internal ListLogger(ConcurrentQueue<LogEntry> entries, string category)
    {
        _entries = entries;
        _category = category;
    }

    public IReadOnlyList<LogEntry> Entries => [.. _entries];

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        ArgumentNullException.ThrowIfNull(formatter);
        _entries.Enqueue(new LogEntry(logLevel, eventId.Id, formatter(state, exception), _category, exception?.ToString()));
    }
}

/// <summary>An <see cref="ILoggerFactory"/> whose loggers all keep their entries, with their category, in one list.</summary>
public sealed class ListLoggerFactory : ILoggerFactory
{
    private readonly ConcurrentQueue<LogEntry> _entries = new();

    public IReadOnlyList<LogEntry> Entries => [.. _entries];

    public ILogger CreateLogger(string categoryName) => new ListLogger(_entries, categoryName);

    public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException();

    public void Dispose()
    {
    }
}

/// <summary>One entry of a <see cref="ListLogger"/>.</summary>
public sealed record LogEntry(LogLevel Level, int EventId, string Message, string Category = "", string? Exception = null)
{
    public override string ToString() => $"{Level} {EventId} [{Category}]: {Message}";
}
