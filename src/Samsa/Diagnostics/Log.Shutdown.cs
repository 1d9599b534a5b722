using Microsoft.Extensions.Logging;

namespace Samsa.Diagnostics;

/// <summary>Closing the producer (1600-1699, category <c>Samsa.Producer</c>).</summary>
internal static partial class ShutdownLog
{
    [LoggerMessage(EventId = SamsaLogEvents.Closing, Level = LogLevel.Debug, Message = "Producer {ClientId} is closing: flushing for up to {CloseTimeoutMs} ms")]
    public static partial void Closing(ILogger logger, string clientId, long closeTimeoutMs);

    [LoggerMessage(EventId = SamsaLogEvents.CloseFlushTimedOut, Level = LogLevel.Warning,
        Message = "Producer {ClientId}: the flush on close did not finish within {CloseTimeoutMs} ms; {Unreported} record(s) left unreported fail now")]
    public static partial void CloseFlushTimedOut(ILogger logger, string clientId, long closeTimeoutMs, long unreported);

    [LoggerMessage(EventId = SamsaLogEvents.Closed, Level = LogLevel.Debug, Message = "Producer {ClientId} is closed")]
    public static partial void Closed(ILogger logger, string clientId);
}
