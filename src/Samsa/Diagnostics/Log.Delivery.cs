using Microsoft.Extensions.Logging;

namespace Samsa.Diagnostics;

/// <summary>Records' outcomes and the producer's state (1000-1099, category <c>Samsa.Producer</c>).</summary>
internal static partial class DeliveryLog
{
    [LoggerMessage(EventId = SamsaLogEvents.DeliveryHandlerFailed, Level = LogLevel.Error,
        Message = "A delivery handler threw for a record of {Topic}[{Partition}]; the producer goes on ({Suppressed} more since the last report)")]
    public static partial void DeliveryHandlerFailed(ILogger logger, Exception exception, string topic, int partition, int suppressed);

    [LoggerMessage(EventId = SamsaLogEvents.ProducerFailed, Level = LogLevel.Critical, Message = "The producer entered its failed state: {Reason}")]
    public static partial void ProducerFailed(ILogger logger, Exception exception, string reason);

    [LoggerMessage(EventId = SamsaLogEvents.BatchSplit, Level = LogLevel.Information,
        Message = "The broker refused a batch of {RecordCount} records for {Topic}[{Partition}] as too large ({Error}); it goes again as two batches")]
    public static partial void BatchSplit(ILogger logger, string topic, int partition, int recordCount, ErrorCode error);

    [LoggerMessage(EventId = SamsaLogEvents.AbandonedRecordFailed, Level = LogLevel.Warning,
        Message = "A record of {Topic}[{Partition}] failed after its caller stopped waiting (cancellation token): {Reason} ({Suppressed} more since the last report)")]
    public static partial void AbandonedRecordFailed(ILogger logger, Exception exception, string topic, int partition, string reason, int suppressed);

    [LoggerMessage(EventId = SamsaLogEvents.UnhandledRecordFailed, Level = LogLevel.Warning,
        Message = "A record of {Topic}[{Partition}] failed and was produced without a delivery handler, so nothing else reports it: {Reason} ({Suppressed} more since the last report)")]
    public static partial void UnhandledRecordFailed(ILogger logger, Exception exception, string topic, int partition, string reason, int suppressed);
}
