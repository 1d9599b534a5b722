using Microsoft.Extensions.Logging;
using Samsa.Diagnostics;

namespace Samsa.Security.Sasl;

/// <summary>
/// The producer's current OAUTHBEARER token, shared by all its connections. A connection that authenticates
/// (or re-authenticates, KIP-368) takes the cached token until its refresh point, which follows Java's
/// <c>ExpiringCredentialRefreshingLogin</c>: <c>sasl.login.refresh.window.factor</c> of the token's lifetime plus
/// up to <c>…window.jitter</c>, moved to keep <c>…refresh.buffer.seconds</c> before expiry and no sooner than
/// <c>…min.period.seconds</c> (both ignored when the token is too short for them). Refreshing is lazy: nothing
/// wakes up for it, the first connection that needs a token after that point fetches one, and concurrent
/// callers share that fetch. A failed refresh falls back to the old token while it is still valid.
/// </summary>
internal sealed partial class OAuthBearerTokenCache
{
    private readonly Func<CancellationToken, ValueTask<OAuthBearerToken>> _source;
    private readonly SaslOptions _options;
    private readonly ILogger _logger;
    private readonly Func<DateTimeOffset> _now;
    private readonly object _lock = new();
    private OAuthBearerToken? _token;
    private DateTimeOffset _refreshAt;
    private Task<OAuthBearerToken>? _refreshing;
    private int _fetches;

    public OAuthBearerTokenCache(Func<CancellationToken, ValueTask<OAuthBearerToken>> source, SaslOptions options, ILogger logger, Func<DateTimeOffset>? now = null)
    {
        _source = source;
        _options = options;
        _logger = logger;
        _now = now ?? (static () => DateTimeOffset.UtcNow);
    }

    /// <summary>How many tokens were fetched so far (tests).</summary>
    internal int Fetches => Volatile.Read(ref _fetches);

    /// <summary>When the cached token is due for refresh (tests).</summary>
    internal DateTimeOffset RefreshAt
    {
        get
        {
            lock (_lock)
            {
                return _refreshAt;
            }
        }
    }

    /// <summary>
    /// The current token, fetching a new one if the cached one is due for refresh or expires within
    /// <paramref name="minimumValidity"/> (see <see cref="ISaslMechanism.BeginAsync"/>).
    /// </summary>
    public async ValueTask<OAuthBearerToken> GetAsync(TimeSpan minimumValidity, CancellationToken cancellationToken)
    {
        Task<OAuthBearerToken> refresh;
        lock (_lock)
        {
            var now = _now();
            if (_token is { } cached && now < _refreshAt && cached.Expiry - now >= minimumValidity)
            {
                return cached;
            }

            // One fetch at a time, shared by every caller; a caller giving up does not cancel it for the others.
            if (_refreshing is null || _refreshing.IsCompleted)
            {
                _refreshing = RefreshAsync();
            }

            refresh = _refreshing;
        }

        try
        {
            return await refresh.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (KafkaException e)
        {
            lock (_lock)
            {
                if (_token is { } old && _now() < old.Expiry)
                {
                    SecurityLog.TokenRefreshFailed(_logger, e, old.PrincipalName, old.Expiry, e.Message);
                    return old;
                }
            }

            throw;
        }
    }

    private async Task<OAuthBearerToken> RefreshAsync()
    {
        OAuthBearerToken token;
        try
        {
            token = await _source(CancellationToken.None).ConfigureAwait(false)
                ?? throw new KafkaAuthenticationException("The OAUTHBEARER token provider returned no token (null).");
        }
        catch (KafkaException)
        {
            throw;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The provider's own failure may pass (an identity provider that is down): retriable, so the
            // connection is tried again after the reconnect backoff, within delivery.timeout.ms.
            throw new KafkaException($"The OAUTHBEARER token provider failed: {e.Message}", ErrorCode.SaslAuthenticationFailed, isRetriable: true, e);
        }

        var now = _now();
        if (!OAuthBearerMechanism.IsB64Token(token.Value))
        {
            throw new KafkaAuthenticationException("The OAUTHBEARER token is not a bearer token (RFC 6750 b64token characters only).");
        }

        if (token.Expiry <= now)
        {
            throw new KafkaAuthenticationException($"The OAUTHBEARER token for '{token.PrincipalName}' expired at {token.Expiry:O}, before it could be used.");
        }

        var refreshAt = RefreshPoint(token, now, _options, Random.Shared.NextDouble());
        lock (_lock)
        {
            _token = token;
            _refreshAt = refreshAt;
        }

        Interlocked.Increment(ref _fetches);
        SecurityLog.TokenObtained(_logger, token.PrincipalName, token.Expiry, refreshAt);
        return token;
    }

    /// <summary>When a token received at <paramref name="now"/> is refreshed (see the class remarks).</summary>
    internal static DateTimeOffset RefreshPoint(OAuthBearerToken token, DateTimeOffset now, SaslOptions options, double random)
    {
        var start = token.IssuedAt is { } issued && issued <= now ? issued : now;
        var lifetime = token.Expiry - start;
        var refreshAt = start + (lifetime * (options.LoginRefreshWindowFactor + (random * options.LoginRefreshWindowJitter)));
        if (now + options.LoginRefreshMinPeriod + options.LoginRefreshBuffer > token.Expiry)
        {
            // Too short a token for both margins: Java ignores them.
            return refreshAt;
        }

        if (refreshAt > token.Expiry - options.LoginRefreshBuffer)
        {
            refreshAt = token.Expiry - options.LoginRefreshBuffer;
        }

        if (refreshAt < now + options.LoginRefreshMinPeriod)
        {
            refreshAt = now + options.LoginRefreshMinPeriod;
        }

        return refreshAt;
    }
}
