using Microsoft.Extensions.Logging;
using Samsa.Network;

namespace Samsa.Diagnostics;

/// <summary>TLS and SASL (1200-1299, category <c>Samsa.Security</c>). No secret is ever an argument here.</summary>
internal static partial class SecurityLog
{
    [LoggerMessage(EventId = SamsaLogEvents.SaslAuthenticated, Level = LogLevel.Debug, Message = "Authenticated to broker {Broker} with SASL {Mechanism}; session lifetime {SessionLifetimeMs} ms (0: none)")]
    public static partial void Authenticated(ILogger logger, BrokerAddress broker, string mechanism, long sessionLifetimeMs);

    [LoggerMessage(EventId = SamsaLogEvents.SaslReauthenticated, Level = LogLevel.Debug, Message = "Re-authenticated to broker {Broker} with SASL {Mechanism} (KIP-368); session lifetime {SessionLifetimeMs} ms")]
    public static partial void Reauthenticated(ILogger logger, BrokerAddress broker, string mechanism, long sessionLifetimeMs);

    [LoggerMessage(EventId = SamsaLogEvents.OAuthBearerTokenObtained, Level = LogLevel.Information, Message = "Got an OAUTHBEARER token for {Principal}, valid until {Expiry:O}; it is refreshed from {RefreshAt:O}")]
    public static partial void TokenObtained(ILogger logger, string principal, DateTimeOffset expiry, DateTimeOffset refreshAt);

    [LoggerMessage(EventId = SamsaLogEvents.OAuthBearerTokenRefreshFailed, Level = LogLevel.Warning, Message = "Refreshing the OAUTHBEARER token failed; the token for {Principal}, valid until {Expiry:O}, is used meanwhile: {Reason}")]
    public static partial void TokenRefreshFailed(ILogger logger, Exception exception, string principal, DateTimeOffset expiry, string reason);

    [LoggerMessage(EventId = SamsaLogEvents.OidcTokenRequestFailed, Level = LogLevel.Warning, Message = "Getting an OAUTHBEARER token from {Endpoint} failed (attempt {Attempt}); trying again: {Reason}")]
    public static partial void OidcTokenRequestFailed(ILogger logger, string endpoint, int attempt, string reason);

    [LoggerMessage(EventId = SamsaLogEvents.SaslReauthenticationFailed, Level = LogLevel.Error, Message = "Re-authentication to broker {Broker} failed; the connection is closed: {Reason}")]
    public static partial void ReauthenticationFailed(ILogger logger, Exception exception, BrokerAddress broker, string reason);

    [LoggerMessage(EventId = SamsaLogEvents.AuthenticationFailed, Level = LogLevel.Error, Message = "A broker refused to authenticate the producer; no further connection is attempted: {Reason}")]
    public static partial void AuthenticationFailed(ILogger logger, Exception exception, string reason);
}
