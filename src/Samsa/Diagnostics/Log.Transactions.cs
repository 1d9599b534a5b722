using Microsoft.Extensions.Logging;

namespace Samsa.Diagnostics;

/// <summary>Transactions: init, ends, abortable errors, coordinator retries (1800-1899, category <c>Samsa.Producer</c>).</summary>
internal static partial class TransactionLog
{
    [LoggerMessage(EventId = SamsaLogEvents.TransactionsInitialized, Level = LogLevel.Information, Message = "Transactional producer '{TransactionalId}' initialized: producer id {ProducerId}, epoch {Epoch}, transactions version {Version}")]
    public static partial void Initialized(ILogger logger, string transactionalId, long producerId, short epoch, int version);

    [LoggerMessage(EventId = SamsaLogEvents.TransactionEnded, Level = LogLevel.Debug, Message = "Transaction of '{TransactionalId}' {Outcome}")]
    public static partial void Ended(ILogger logger, string transactionalId, string outcome);

    [LoggerMessage(EventId = SamsaLogEvents.TransactionAbortable, Level = LogLevel.Warning, Message = "The transaction of '{TransactionalId}' must abort: {Reason}")]
    public static partial void Abortable(ILogger logger, string transactionalId, string reason);

    [LoggerMessage(EventId = SamsaLogEvents.TransactionEpochBumped, Level = LogLevel.Information, Message = "Transactional producer '{TransactionalId}' moved to producer id {ProducerId}, epoch {Epoch}")]
    public static partial void EpochBumped(ILogger logger, string transactionalId, long producerId, short epoch);

    [LoggerMessage(EventId = SamsaLogEvents.TransactionAbortedOnClose, Level = LogLevel.Warning, Message = "Transactional producer '{TransactionalId}' was disposed with a transaction open: aborting it")]
    public static partial void AbortOnClose(ILogger logger, string transactionalId);

    [LoggerMessage(EventId = SamsaLogEvents.TransactionCoordinatorRetry, Level = LogLevel.Debug, Message = "{Request} to the coordinator is retried (attempt {Attempts}): {Reason}")]
    public static partial void CoordinatorRetry(ILogger logger, string request, int attempts, string reason);

    [LoggerMessage(EventId = SamsaLogEvents.TransactionCoordinatorRetry, Level = LogLevel.Debug, Message = "{Request} to the coordinator is retried (attempt {Attempts}): the coordinator answered {Error}")]
    public static partial void CoordinatorRetry(ILogger logger, string request, int attempts, ErrorCode error);
}
