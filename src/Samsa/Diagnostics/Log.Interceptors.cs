using Microsoft.Extensions.Logging;

namespace Samsa.Diagnostics;

/// <summary>Interceptors that throw (1700-1799, category <c>Samsa.Producer</c>).</summary>
internal static partial class InterceptorLog
{
    [LoggerMessage(EventId = SamsaLogEvents.InterceptorOnSendFailed, Level = LogLevel.Error,
        Message = "Interceptor {Interceptor} threw in OnSend for a record of topic '{Topic}'; the record goes on as the interceptor before it returned it ({Suppressed} more since the last report)")]
    public static partial void OnSendFailed(ILogger logger, Exception exception, string interceptor, string topic, int suppressed);

    [LoggerMessage(EventId = SamsaLogEvents.InterceptorOnAcknowledgementFailed, Level = LogLevel.Error,
        Message = "Interceptor {Interceptor} threw in OnAcknowledgement for a record of {Topic}[{Partition}]; the producer goes on ({Suppressed} more since the last report)")]
    public static partial void OnAcknowledgementFailed(ILogger logger, Exception exception, string interceptor, string topic, int partition, int suppressed);
}
