using Microsoft.Extensions.Logging;
using System.Net;
using Samsa.Network;

namespace Samsa.Diagnostics;

/// <summary>Connections to brokers (1300-1399, category <c>Samsa.Network</c>).</summary>
internal static partial class ConnectionLog
{
    [LoggerMessage(EventId = SamsaLogEvents.Connected, Level = LogLevel.Debug, Message = "Connected to broker {Broker} at {Address}")]
    public static partial void Connected(ILogger logger, BrokerAddress broker, IPAddress address);

    [LoggerMessage(EventId = SamsaLogEvents.BrokerUnreachable, Level = LogLevel.Warning,
        Message = "Cannot reach broker {Broker} ({FailedAttempts} failed attempt(s) so far; the next in {RetryInMs} ms): {Reason}")]
    public static partial void BrokerUnreachable(ILogger logger, BrokerAddress broker, int failedAttempts, long retryInMs, string reason);

    [LoggerMessage(EventId = SamsaLogEvents.BrokerReachable, Level = LogLevel.Information, Message = "Connected to broker {Broker} again after {FailedAttempts} failed attempt(s)")]
    public static partial void BrokerReachable(ILogger logger, BrokerAddress broker, int failedAttempts);

    [LoggerMessage(EventId = SamsaLogEvents.ConnectionLost, Level = LogLevel.Information, Message = "Lost the connection to broker {Broker}: {Reason}")]
    public static partial void ConnectionLost(ILogger logger, BrokerAddress broker, string reason);

    [LoggerMessage(EventId = SamsaLogEvents.IdleConnectionClosed, Level = LogLevel.Debug, Message = "Closing the connection to broker {Broker}: unused for connections.max.idle.ms ({MaxIdleMs} ms)")]
    public static partial void IdleConnectionClosed(ILogger logger, BrokerAddress broker, long maxIdleMs);
}
