using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Samsa.Diagnostics;
using Samsa.Network;

namespace Samsa.Cluster;

/// <summary>
/// Hands out the one connection a producer keeps to each broker, connecting on first use and
/// again after a failure, as Java's <c>ClusterConnectionStates</c> does: no sooner than the
/// reconnect backoff after a failed attempt, with a connect timeout that grows with each failed
/// attempt, trying in turn each address the broker's name resolves to; and closing connections
/// that stay idle longer than <c>connections.max.idle.ms</c>.
/// </summary>
internal sealed class BrokerConnections : IAsyncDisposable
{
    private long _connectionsCreated;

    private readonly Dictionary<int, Slot> _slots = [];
    private readonly ConnectionSettings _settings;
    private readonly ExponentialBackoff _reconnectBackoff;
    private readonly ExponentialBackoff _connectTimeout;
    private readonly HostResolver _resolver;
    private readonly long _maxIdleMs;
    private readonly Timer? _idleTimer;
    private readonly ILogger _logger;
    private readonly ILogger _securityLogger;
    private bool _disposed;

    /// <summary>
    /// How often a broker that stays unreachable is logged again (event 1302). The first failed attempt is logged at
    /// once, and again at once after the broker was reached in between; meanwhile the reconnect backoff keeps trying.
    /// </summary>
    internal static readonly TimeSpan UnreachableLogInterval = TimeSpan.FromSeconds(30);

    // Set once a broker refused to authenticate the producer: from then on no connection is attempted, so nothing
    // keeps knocking with refused credentials (a refused login per retry), and every caller gets that refusal.
    private KafkaAuthenticationException? _refused;

    /// <param name="settings">What every connection shares; its connect timeout is the first one.</param>
    /// <param name="reconnectBackoff"><c>reconnect.backoff.ms</c>.</param>
    /// <param name="reconnectBackoffMax"><c>reconnect.backoff.max.ms</c>.</param>
    /// <param name="connectTimeoutMax"><c>socket.connection.setup.timeout.max.ms</c>.</param>
    /// <param name="maxIdle"><c>connections.max.idle.ms</c>; negative: never close idle connections.</param>
    /// <param name="resolver">Name lookups; <see cref="HostResolver.System"/> outside tests.</param>
    /// <param name="random">Jitter source, for deterministic tests.</param>
    /// <param name="logger">Connection events (category <c>Samsa.Network</c>).</param>
    /// <param name="securityLogger">Authentication refusals (category <c>Samsa.Security</c>).</param>
    public BrokerConnections(
        ConnectionSettings settings,
        TimeSpan reconnectBackoff,
        TimeSpan reconnectBackoffMax,
        TimeSpan connectTimeoutMax,
        TimeSpan maxIdle,
        HostResolver resolver,
        Random? random = null,
        ILogger? logger = null,
        ILogger? securityLogger = null)
    {
        _settings = settings;
        _logger = logger ?? NullLogger.Instance;
        _securityLogger = securityLogger ?? _logger;
        _reconnectBackoff = new ExponentialBackoff(reconnectBackoff, reconnectBackoffMax, random);
        _connectTimeout = new ExponentialBackoff(settings.ConnectTimeout, connectTimeoutMax, random);
        _resolver = resolver;
        _maxIdleMs = (long)maxIdle.TotalMilliseconds;
        if (_maxIdleMs >= 0)
        {
            // Checking four times per idle period closes a connection at most a quarter late; with
            // the default nine minutes that is one cheap check every two and a quarter minutes.
            var period = TimeSpan.FromMilliseconds(Math.Max(10, _maxIdleMs / 4));
            _idleTimer = new Timer(static state => ((BrokerConnections)state!).CloseIdle(), this, period, period);
        }
    }

    /// <summary>
    /// Raised, from whichever thread noticed, when a broker refuses the producer: its TLS handshake on connecting, or
    /// SASL on connecting or re-authenticating (KIP-368). Retrying cannot help, so the producer fails for good
    /// (<see cref="KafkaAuthenticationException"/>).
    /// </summary>
    public event Action<KafkaAuthenticationException>? AuthenticationFailed;

    /// <summary>The connection to a broker by node id, connecting if there is none.</summary>
    public Task<BrokerConnection> GetAsync(BrokerAddress address, CancellationToken cancellationToken)
    {
        Slot slot;
        lock (_slots)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_refused is { } refused)
            {
                return Task.FromException<BrokerConnection>(refused);
            }

            if (!_slots.TryGetValue(address.NodeId, out slot!))
            {
                slot = new Slot();
                _slots[address.NodeId] = slot;
            }

            var current = slot.Connecting;
            if (current is not null && !(current.IsCompletedSuccessfully && current.Result.IsFailed) && !current.IsFaulted && !current.IsCanceled)
            {
                // Whoever asks is about to send: the idle check must not close it under them.
                if (current.IsCompletedSuccessfully)
                {
                    current.Result.MarkUsed();
                }

                return current;
            }

            slot.Connecting = ConnectAsync(slot, address);
            return slot.Connecting.WaitAsync(cancellationToken);
        }
    }

    /// <summary>A live connection to any broker, for requests that any broker can answer.</summary>
    public BrokerConnection? AnyLive()
    {
        lock (_slots)
        {
            foreach (var slot in _slots.Values)
            {
                if (slot.Connecting is { IsCompletedSuccessfully: true } task && !task.Result.IsFailed)
                {
                    task.Result.MarkUsed();
                    return task.Result;
                }
            }
        }

        return null;
    }

    /// <summary>Connection attempts to this broker that failed since it last connected; its connect timeout grows with them.</summary>
    internal int FailedConnectAttempts(int nodeId)
    {
        lock (_slots)
        {
            return _slots.TryGetValue(nodeId, out var slot) ? slot.FailedConnectAttempts : 0;
        }
    }

    /// <summary>
    /// For health checks: connections open now, brokers whose latest connection attempt failed, and the
    /// most recent of those failures. A bootstrap address (negative node id) counts only while no
    /// connection is open: once one is, the cluster is known through metadata and the bootstrap list is
    /// no longer used, so a dead entry in it would otherwise report trouble for good.
    /// </summary>
    /// <summary>Connections established since the start (metrics: Java's <c>connection-creation-total</c>).</summary>
    public long ConnectionsCreated => Interlocked.Read(ref _connectionsCreated);

    public (int Connected, int Unreachable, Exception? LastError) GetHealth()
    {
        var connected = 0;
        var failedBrokers = 0;
        var failedBootstrap = 0;
        Exception? brokerError = null, bootstrapError = null;
        long brokerErrorTicks = long.MinValue, bootstrapErrorTicks = long.MinValue;
        lock (_slots)
        {
            foreach (var (nodeId, slot) in _slots)
            {
                if (slot.Connecting is { IsCompletedSuccessfully: true } task && !task.Result.IsFailed)
                {
                    connected++;
                }
                else if (slot.FailedAttempts > 0 && nodeId >= 0)
                {
                    failedBrokers++;
                    Latest(slot, ref brokerError, ref brokerErrorTicks);
                }
                else if (slot.FailedAttempts > 0)
                {
                    failedBootstrap++;
                    Latest(slot, ref bootstrapError, ref bootstrapErrorTicks);
                }
            }
        }

        return connected > 0 || failedBrokers > 0
            ? (connected, failedBrokers, brokerError)
            : (0, failedBootstrap, bootstrapError);

        static void Latest(Slot slot, ref Exception? error, ref long ticks)
        {
            if (slot.LastError is not null && slot.LastErrorTicks > ticks)
            {
                error = slot.LastError;
                ticks = slot.LastErrorTicks;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        List<Task<BrokerConnection>> open;
        lock (_slots)
        {
            _disposed = true;
            open = _slots.Values.Select(s => s.Connecting).OfType<Task<BrokerConnection>>().ToList();
            _slots.Clear();
        }

        if (_idleTimer is not null)
        {
            await _idleTimer.DisposeAsync().ConfigureAwait(false);
        }

        foreach (var task in open)
        {
            if (task.IsCompletedSuccessfully)
            {
                await task.Result.DisposeAsync().ConfigureAwait(false);
            }
        }

        _settings.Sasl?.Dispose();
    }

    /// <summary>
    /// Closes every connection unused for longer than <c>connections.max.idle.ms</c> that has no
    /// request waiting for an answer, as Java's <c>Selector</c> does; the next request to that
    /// broker connects again.
    /// </summary>
    private void CloseIdle()
    {
        var idleBefore = Environment.TickCount64 - _maxIdleMs;
        List<BrokerConnection>? idle = null;
        lock (_slots)
        {
            if (_disposed)
            {
                return;
            }

            foreach (var slot in _slots.Values)
            {
                if (slot.Connecting is { IsCompletedSuccessfully: true } task
                    && task.Result is { IsFailed: false, HasPendingRequests: false } connection
                    && connection.LastUsedMs < idleBefore)
                {
                    // Forget it first, so that the next request opens a new connection instead of
                    // taking this closing one.
                    slot.Connecting = null;
                    (idle ??= []).Add(connection);
                    ConnectionLog.IdleConnectionClosed(_logger, connection.Address, _maxIdleMs);
                }
            }
        }

        foreach (var connection in idle ?? [])
        {
            _ = CloseQuietlyAsync(connection);
        }
    }

    // Runs on a timer: a close that races with the broker closing first must not surface anywhere.
    private static async Task CloseQuietlyAsync(BrokerConnection connection)
    {
        try
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is ObjectDisposedException or SocketException)
        {
        }
    }

    private async Task<BrokerConnection> ConnectAsync(Slot slot, BrokerAddress address)
    {
        var wait = slot.NextAttemptTicks - Environment.TickCount64;
        if (wait > 0)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(wait)).ConfigureAwait(false);
        }

        try
        {
            var connection = await ConnectAnyAddressAsync(slot, address).ConfigureAwait(false);
            Interlocked.Increment(ref _connectionsCreated);
            int failedBefore;
            lock (_slots)
            {
                failedBefore = slot.FailedAttempts;
                slot.FailedAttempts = 0;
                slot.FailedConnectAttempts = 0;
                slot.LastError = null;
            }

            if (failedBefore > 0)
            {
                // A state change: the next failure is news again, whenever it comes.
                slot.UnreachableLog.Reset();
                ConnectionLog.BrokerReachable(_logger, address, failedBefore);
            }

            return connection;
        }
        catch (Exception e)
        {
            int failed;
            long retryInMs;
            lock (_slots)
            {
                retryInMs = (long)_reconnectBackoff.After(slot.FailedAttempts).TotalMilliseconds;
                slot.LastError = e;
                slot.LastErrorTicks = Environment.TickCount64;
                slot.NextAttemptTicks = Environment.TickCount64 + retryInMs;
                failed = ++slot.FailedAttempts;
            }

            // A refusal is logged as such (1207) and ends the producer; a producer closing is no broker's fault.
            if (e is not KafkaAuthenticationException && !Volatile.Read(ref _disposed) && slot.UnreachableLog.TryEnter(out _))
            {
                ConnectionLog.BrokerUnreachable(_logger, address, failed, retryInMs, e.Message);
            }

            throw;
        }
    }

    // client.dns.lookup=use_all_dns_ips (the only lookup Kafka 3.0+ keeps for brokers): every address
    // the name resolves to is tried in turn, so one dead address does not make the broker unreachable.
    // Unlike Java, addresses of both families are kept: .NET orders them as getaddrinfo does (often
    // IPv6 first), and a broker listening only on IPv4 must still be reached.
    private async Task<BrokerConnection> ConnectAnyAddressAsync(Slot slot, BrokerAddress address)
    {
        IPAddress[] addresses;
        try
        {
            addresses = await _resolver.ResolveAsync(address.Host, CancellationToken.None).ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            throw new KafkaNetworkException($"Could not resolve broker {address}: {e.Message}.", e);
        }

        if (addresses.Length == 0)
        {
            throw new KafkaNetworkException($"Could not resolve broker {address}: the name has no addresses.");
        }

        KafkaException? lastError = null;
        foreach (var resolved in addresses)
        {
            // KIP-601: each failed attempt doubles the connect timeout (with jitter) up to
            // socket.connection.setup.timeout.max.ms, so a slow broker gets time while a dead one
            // does not cost the full timeout every time.
            TimeSpan timeout;
            lock (_slots)
            {
                timeout = _connectTimeout.After(slot.FailedConnectAttempts);
            }

            try
            {
                var connection = await BrokerConnection.ConnectAsync(address, _settings with { ConnectTimeout = timeout }, resolved, CancellationToken.None).ConfigureAwait(false);
                if (_settings.Sasl is not null)
                {
                    connection.AuthenticationRefused += (_, refused) => OnRefused(refused);
                }

                connection.Failed += OnConnectionFailed;

                ConnectionLog.Connected(_logger, address, resolved);
                return connection;
            }
            catch (KafkaAuthenticationException e)
            {
                // The broker answered and refused: another of its addresses would refuse the same way.
                OnRefused(e);
                throw;
            }
            catch (KafkaException e)
            {
                lastError = e;
                lock (_slots)
                {
                    slot.FailedConnectAttempts++;
                }
            }
        }

        throw lastError!;
    }

    private void OnConnectionFailed(BrokerConnection connection, KafkaException error)
    {
        if (!connection.IsClosing && !Volatile.Read(ref _disposed))
        {
            ConnectionLog.ConnectionLost(_logger, connection.Address, error.Message);
        }
    }

    private void OnRefused(KafkaAuthenticationException refused)
    {
        bool first;
        lock (_slots)
        {
            first = _refused is null;
            _refused ??= refused;
        }

        if (first)
        {
            SecurityLog.AuthenticationFailed(_securityLogger, refused, refused.Message);
        }

        _settings.Sasl?.Refuse(refused);
        AuthenticationFailed?.Invoke(refused);
    }

    private sealed class Slot
    {
        public Task<BrokerConnection>? Connecting;
        public int FailedAttempts;
        public int FailedConnectAttempts;
        public long NextAttemptTicks;

        // The latest failed attempt since the last connect, for GetHealth.
        public Exception? LastError;
        public long LastErrorTicks;

        // Event 1302: the first failure at once, then once per UnreachableLogInterval while it lasts.
        public readonly LogLimiter UnreachableLog = new(UnreachableLogInterval);
    }
}
