using Samsa.Security;

namespace Samsa.Network;

/// <summary>
/// SASL on the connection: the first authentication right after ApiVersions, and KIP-368
/// re-authentication before the session the broker granted runs out.
/// </summary>
/// <remarks>
/// Re-authentication. When SaslAuthenticate v1+ gives a session lifetime, a timer fires at a random point
/// between 85% and 95% of it (as Java's <c>SaslClientAuthenticator</c> picks, so that many connections do not
/// re-authenticate at once), even on an idle connection, which a broker would otherwise close at the next request
/// after the session expired. The exchange (SaslHandshake, then SaslAuthenticate until done) is pipelined behind
/// the requests already in flight, whose answers still arrive in order before the handshake's: nothing is
/// dropped. For its whole length it holds the write lock, so no other request is sent between its messages: a
/// broker reads every frame between the handshake and the last SaslAuthenticate as SASL. That is what Java does
/// (a channel re-authenticating is not ready for new sends; in-flight answers are kept). Sends wait a round trip
/// or two meanwhile. What the mechanism needs beforehand (a fresh OAUTHBEARER token) is fetched before the lock is
/// taken. A refused re-authentication closes the connection with a <see cref="KafkaAuthenticationException"/>.
/// </remarks>
internal sealed partial class BrokerConnection
{
    private Timer? _reauthTimer;
    private int _reauthentications;
    private long _sessionLifetimeMs;

    /// <summary>
    /// Raised when the broker refuses a re-authentication, before the connection closes (a broker also hangs up after
    /// refusing, and that may be noticed first): nothing must be retried with credentials it refuses.
    /// </summary>
    public event Action<BrokerConnection, KafkaAuthenticationException>? AuthenticationRefused;

    /// <summary>Successful KIP-368 re-authentications on this connection (tests, logs).</summary>
    internal int Reauthentications => Volatile.Read(ref _reauthentications);

    private async Task AuthenticateAsync(SaslAuthenticator sasl, CancellationToken cancellationToken)
    {
        var exchange = await sasl.Mechanism.BeginForBrokerAsync(Address.Host, TimeSpan.Zero, cancellationToken).ConfigureAwait(false);
        var lifetimeMs = await sasl.AuthenticateAsync(this, exchange, writeLockHeld: false, cancellationToken).ConfigureAwait(false);
        sasl.OnAuthenticated(Address, lifetimeMs, reauthentication: false);
        ScheduleReauthentication(lifetimeMs);
    }

    private void ScheduleReauthentication(long sessionLifetimeMs)
    {
        _sessionLifetimeMs = sessionLifetimeMs;
        if (sessionLifetimeMs <= 0 || IsFailed)
        {
            return;
        }

        var dueMs = (long)(sessionLifetimeMs * (0.85 + (Random.Shared.NextDouble() * 0.10)));
        var due = TimeSpan.FromMilliseconds(Math.Clamp(dueMs, 1, uint.MaxValue - 1L));
        if (_reauthTimer is null)
        {
            _reauthTimer = new Timer(static state => _ = ((BrokerConnection)state!).ReauthenticateAsync(), this, due, Timeout.InfiniteTimeSpan);
        }
        else
        {
            _reauthTimer.Change(due, Timeout.InfiniteTimeSpan);
        }
    }

    private async Task ReauthenticateAsync()
    {
        var sasl = _settings.Sasl!;
        if (IsFailed)
        {
            return;
        }

        if (sasl.Refusal is { } refused)
        {
            // Another connection's credentials were refused: this one would be too, so it closes as its session ends
            // instead of knocking again (a broker would close it at its next request anyway).
            Fail(refused);
            return;
        }

        try
        {
            var exchange = await sasl.Mechanism.BeginForBrokerAsync(Address.Host, TimeSpan.FromMilliseconds(_sessionLifetimeMs), _closing.Token).ConfigureAwait(false);
            await _writeLock.WaitAsync(_closing.Token).ConfigureAwait(false);
            try
            {
                if (IsFailed)
                {
                    return;
                }

                // Re-authenticating is not using the connection: connections.max.idle.ms still counts from the last real request.
                var lastUsed = LastUsedMs;
                long lifetimeMs;
                try
                {
                    // Not cancelled by the connection closing: a broker that refuses answers, then hangs up, and the
                    // answer must win. Every request completes anyway, with its answer or the connection's failure.
                    lifetimeMs = await sasl.AuthenticateAsync(this, exchange, writeLockHeld: true, CancellationToken.None).ConfigureAwait(false);
                }
                catch (KafkaAuthenticationException refusal)
                {
                    // Still holding the write lock: no request waiting for it may be retried on a new connection
                    // before the refusal is known (it would only be refused again).
                    OnReauthenticationRefused(sasl, refusal);
                    return;
                }

                Volatile.Write(ref _lastUsedMs, lastUsed);
                Interlocked.Increment(ref _reauthentications);
                sasl.OnAuthenticated(Address, lifetimeMs, reauthentication: true);
                ScheduleReauthentication(lifetimeMs);
            }
            finally
            {
                _writeLock.Release();
            }
        }
        catch (OperationCanceledException) when (_closing.IsCancellationRequested)
        {
            // The connection closed meanwhile.
        }
        catch (ObjectDisposedException)
        {
            // Disposed meanwhile.
        }
        catch (KafkaAuthenticationException refusal)
        {
            // Refused before the exchange, e.g. the token endpoint refused the client credentials.
            OnReauthenticationRefused(sasl, refusal);
        }
        catch (KafkaException e)
        {
            // A lost connection has failed already (and reports itself); anything else ends the connection here.
            Fail(new KafkaNetworkException($"Re-authentication to broker {Address} failed: {e.Message}", e));
        }
    }

    private void OnReauthenticationRefused(SaslAuthenticator sasl, KafkaAuthenticationException refusal)
    {
        sasl.OnReauthenticationFailed(Address, refusal);
        AuthenticationRefused?.Invoke(this, refusal);
        Fail(refusal);
    }

    private void StopReauthentication() => _reauthTimer?.Dispose();
}
