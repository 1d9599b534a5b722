using Microsoft.Extensions.Logging;

namespace Samsa.Diagnostics;

/// <summary>KIP-714 client telemetry (1900-1999, category <c>Samsa.Producer</c>).</summary>
internal static partial class TelemetryLog
{
    [LoggerMessage(EventId = SamsaLogEvents.TelemetrySubscribed, Level = LogLevel.Information,
        Message = "A broker subscribed to {MetricCount} client metric prefix(es) (KIP-714, subscription {SubscriptionId}); they are pushed every {IntervalMs} ms")]
    public static partial void Subscribed(ILogger logger, int metricCount, int subscriptionId, long intervalMs);

    [LoggerMessage(EventId = SamsaLogEvents.TelemetryStopped, Level = LogLevel.Warning,
        Message = "Pushing client metrics (KIP-714) stops for this producer: the broker answered {Error}")]
    public static partial void Stopped(ILogger logger, string error);
}
