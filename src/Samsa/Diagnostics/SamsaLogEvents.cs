namespace Samsa;

/// <summary>
/// The event ids of everything Samsa logs, stable from one release to the next, so that log filters and alerts can
/// name them. Ranges by area (and the logger category each area uses with
/// <see cref="ProducerBuilder{TKey, TValue}.SetLoggerFactory"/>):
/// 1000-1099 delivery and the producer's state (<c>Samsa.Producer</c>), 1100-1199 retries (<c>Samsa.Producer</c>),
/// 1200-1299 security (<c>Samsa.Security</c>), 1300-1399 connections (<c>Samsa.Network</c>), 1400-1499 metadata
/// (<c>Samsa.Metadata</c>), 1500-1599 idempotence (<c>Samsa.Producer</c>), 1600-1699 shutdown (<c>Samsa.Producer</c>),
/// 1700-1799 interceptors (<c>Samsa.Producer</c>), 1800-1899 transactions (<c>Samsa.Producer</c>), 1900-1999 client
/// telemetry, KIP-714 (<c>Samsa.Producer</c>), 2000-2099 the hosting package. Ids 1001, 1004 and 1006 are retired
/// (they moved to 1101, 1102 and 1503) and are not reused.
/// </summary>
public static class SamsaLogEvents
{
    /// <summary>Error: a delivery handler threw; the reports behind it go on. Rate-limited.</summary>
    public const int DeliveryHandlerFailed = 1002;

    /// <summary>Critical: the producer entered its failed state (e.g. a broker refused its credentials); every later record fails.</summary>
    public const int ProducerFailed = 1003;

    /// <summary>Information: a broker refused a batch as too large; it is split in two and sent again.</summary>
    public const int BatchSplit = 1005;

    /// <summary>Warning: a record failed after its <c>ProduceAsync</c> caller cancelled its wait. Rate-limited.</summary>
    public const int AbandonedRecordFailed = 1007;

    /// <summary>Warning: a record failed and nobody was told (<c>Produce</c> without a delivery handler). Rate-limited.</summary>
    public const int UnhandledRecordFailed = 1008;

    /// <summary>Debug: a batch is sent again after a retriable error.</summary>
    public const int BatchRetry = 1101;

    /// <summary>Debug: a broker throttled the producer (KIP-219); its requests wait.</summary>
    public const int Throttled = 1102;

    /// <summary>Debug: authenticated to a broker with SASL.</summary>
    public const int SaslAuthenticated = 1201;

    /// <summary>Debug: re-authenticated to a broker with SASL (KIP-368).</summary>
    public const int SaslReauthenticated = 1202;

    /// <summary>Information: got an OAUTHBEARER token.</summary>
    public const int OAuthBearerTokenObtained = 1203;

    /// <summary>Warning: refreshing the OAUTHBEARER token failed; the current token is used meanwhile.</summary>
    public const int OAuthBearerTokenRefreshFailed = 1204;

    /// <summary>Warning: the OIDC token endpoint failed; it is asked again.</summary>
    public const int OidcTokenRequestFailed = 1205;

    /// <summary>Error: re-authenticating to a broker failed; the connection is closed.</summary>
    public const int SaslReauthenticationFailed = 1206;

    /// <summary>Error: a broker refused to authenticate the producer (TLS handshake or SASL); the producer fails.</summary>
    public const int AuthenticationFailed = 1207;

    /// <summary>Debug: a connection to a broker is established and ready.</summary>
    public const int Connected = 1301;

    /// <summary>
    /// Warning: a broker cannot be reached (with its address and the reason). Logged at the first failed attempt,
    /// then at most once per broker every 30 seconds while it stays unreachable (with the number of attempts since).
    /// </summary>
    public const int BrokerUnreachable = 1302;

    /// <summary>Information: a broker is reachable again after failed attempts.</summary>
    public const int BrokerReachable = 1303;

    /// <summary>Information: an established connection was lost (not closed by the producer); the next request connects again.</summary>
    public const int ConnectionLost = 1304;

    /// <summary>Debug: a connection unused for <c>connections.max.idle.ms</c> is closed.</summary>
    public const int IdleConnectionClosed = 1305;

    /// <summary>Warning: a metadata refresh failed. Logged at the first failure, then at most every 30 seconds while it keeps failing.</summary>
    public const int MetadataRefreshFailed = 1401;

    /// <summary>Information: metadata is refreshed again after failures.</summary>
    public const int MetadataRecovered = 1402;

    /// <summary>Information: the idempotent producer got its producer id and epoch (InitProducerId).</summary>
    public const int ProducerIdObtained = 1501;

    /// <summary>Information: the idempotent producer moved to the next epoch of its producer id (KIP-360).</summary>
    public const int EpochBumped = 1502;

    /// <summary>Warning: a partition's sequence state is broken; it moves to the next epoch and resends from sequence 0.</summary>
    public const int PartitionSequenceReset = 1503;

    /// <summary>Warning: InitProducerId was refused with an error code; it is asked again unless fatal.</summary>
    public const int ProducerIdRequestFailed = 1504;

    /// <summary>Debug: the producer is closing (flush, then fail what is left).</summary>
    public const int Closing = 1601;

    /// <summary>Warning: the flush on close did not finish within the close timeout; the records left unreported fail.</summary>
    public const int CloseFlushTimedOut = 1602;

    /// <summary>Debug: the producer is closed.</summary>
    public const int Closed = 1603;

    /// <summary>Error: an interceptor's <c>OnSend</c> threw; the record goes on as the previous interceptor returned it. Rate-limited.</summary>
    public const int InterceptorOnSendFailed = 1701;

    /// <summary>Error: an interceptor's <c>OnAcknowledgement</c> threw; the next interceptors and the delivery handler still run. Rate-limited.</summary>
    public const int InterceptorOnAcknowledgementFailed = 1702;

    /// <summary>Information: the transactional producer got its producer id and epoch (InitTransactions).</summary>
    public const int TransactionsInitialized = 1801;

    /// <summary>Debug: a transaction committed or aborted.</summary>
    public const int TransactionEnded = 1802;

    /// <summary>Warning: something in the open transaction failed; it can only be aborted now.</summary>
    public const int TransactionAbortable = 1803;

    /// <summary>Information: the transactional producer moved to a new epoch (after a timed-out or broken transaction).</summary>
    public const int TransactionEpochBumped = 1804;

    /// <summary>Warning: the producer was disposed with a transaction open; it is aborted.</summary>
    public const int TransactionAbortedOnClose = 1805;

    /// <summary>Debug: a request to the transaction or group coordinator is sent again (coordinator moved or loading,
    /// concurrent transactions, a lost connection or a timeout).</summary>
    public const int TransactionCoordinatorRetry = 1806;

    /// <summary>Information: a broker subscribed the producer to client metrics (KIP-714); they are pushed at its interval.</summary>
    public const int TelemetrySubscribed = 1901;

    /// <summary>Warning: a broker refused the producer's client metrics for good (KIP-714); pushing stops.</summary>
    public const int TelemetryStopped = 1902;

    /// <summary>Warning (Samsa.Extensions.Hosting): a producer was not flushed within the host's shutdown timeout; it is
    /// closed at once, and what is unsent fails.</summary>
    public const int HostingFlushTimedOut = 2001;

    /// <summary>Error (Samsa.Extensions.Hosting): a producer did not finish closing within a grace period after the host's
    /// shutdown timeout (a delivery handler that blocks); the host stops without waiting for it.</summary>
    public const int HostingDisposeTimedOut = 2002;
}
