using Microsoft.Extensions.Logging;
using Samsa.Network;

namespace Samsa.Diagnostics;

/// <summary>Retries and throttling (1100-1199, category <c>Samsa.Producer</c>).</summary>
internal static partial class RetryLog
{
    [LoggerMessage(EventId = SamsaLogEvents.BatchRetry, Level = LogLevel.Debug, Message = "Retrying batch for {Topic}[{Partition}] (attempt {Attempts}): {Reason}")]
    public static partial void BatchRetry(ILogger logger, string topic, int partition, int attempts, string reason);

    [LoggerMessage(EventId = SamsaLogEvents.Throttled, Level = LogLevel.Debug, Message = "Broker {Broker} throttled the producer for {ThrottleTimeMs} ms (KIP-219); its requests wait")]
    public static partial void Throttled(ILogger logger, BrokerAddress broker, int throttleTimeMs);
}
