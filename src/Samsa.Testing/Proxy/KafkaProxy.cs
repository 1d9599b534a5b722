using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Samsa.Testing.Security;

namespace Samsa.Testing.Proxy;

/// <summary>
/// A loopback TCP proxy in front of a <see cref="MockCluster"/>: one listener per broker on 127.0.0.1, and
/// the brokers advertise the proxy's ports in Metadata, so every connection a client makes goes through it.
/// It feeds every Produce request and answer to an <see cref="IdempotenceOracle"/>, and the transaction APIs' too to a
/// <see cref="TransactionOracle"/>, and injects faults the
/// mock cannot: latency per broker, lost answers, connections closed mid-request, stalls, throttling
/// (KIP-219), answers rewritten to another error code; and, on request, it answers what a real broker would
/// for a batch the mock stored against the sequence rules (<see cref="EnforceSequenceRules"/>).
/// </summary>
/// <remarks>
/// Faults are deterministic: they apply to the next matching requests in the order the proxy reads them,
/// never at random. All traffic stays on 127.0.0.1.
/// </remarks>
/// <example>
/// <code>
/// using var cluster = MockCluster.Start(3);
/// await using var proxy = KafkaProxy.Start(cluster);
/// // produce through proxy.BootstrapServers, then:
/// proxy.Oracle.Verify(acknowledged);
/// </code>
/// </example>
public sealed class KafkaProxy : IAsyncDisposable
{
    private readonly MockCluster _cluster;
    private readonly ProxyBroker[] _brokers;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<int, ProxyConnection> _connections = new();
    private readonly List<Task> _acceptLoops = [];
    private readonly Lock _faultGate = new();
    private readonly Dictionary<short, int> _dropResponses = [];
    private readonly HashSet<short> _closeAfter = [];
    private readonly ConcurrentQueue<string> _errors = new();
    private int _connectionCount;
    private int _rewriteAnswers;
    private short _rewriteCode;
    private int _enforceSequenceRules;
    private int _throttleAnswers;
    private int _throttleTimeMs;
    private int _throttledAnswers;
    private int _maxProduceInFlightPerPartition;
    private int _droppedResponses;
    private int _closedConnections;
    private int _disposed;

    private static string AdvertisedHost(SaslFront? sasl) => sasl?.AdvertisedHost ?? "127.0.0.1";

    private KafkaProxy(MockCluster cluster, ProxyBroker[] brokers, SaslFront? sasl)
    {
        _cluster = cluster;
        _brokers = brokers;
        Sasl = sasl;
        BootstrapServers = string.Join(',', brokers.Select(b => $"{AdvertisedHost(sasl)}:{b.ListenPort}"));
    }

    /// <summary>Comma-separated "127.0.0.1:port" list of the proxy's listeners, one per broker ("localhost:port" behind a
    /// GSSAPI <see cref="SaslFront"/>: Kerberos names the broker by host name).</summary>
    public string BootstrapServers { get; }

    /// <summary>The SASL front every connection authenticates with first; null: none (PLAINTEXT).</summary>
    public SaslFront? Sasl { get; }

    /// <summary>
    /// KIP-714 client telemetry answered by the proxy (GetTelemetrySubscriptions, PushTelemetry, both added to ApiVersions
    /// answers), which the mock cluster lacks; null (default): neither is advertised. Set it before clients connect.
    /// </summary>
    public Telemetry.TelemetryFront? Telemetry { get; set; }

    /// <summary>The judge of every Produce batch that went through the proxy.</summary>
    public IdempotenceOracle Oracle { get; } = new();

    /// <summary>The judge of transactional producers: the transaction rules, each transaction's outcome, and the
    /// offsets a real group coordinator would hold (the mock stores none for TxnOffsetCommit).</summary>
    public TransactionOracle Transactions { get; } = new();

    /// <summary>The transaction front making the mock answer as a Kafka broker does for transactions; null until
    /// <see cref="EnableTransactionFront"/>.</summary>
    public TransactionFront? TransactionFront { get; private set; }

    /// <summary>Client connections accepted so far.</summary>
    public int Connections => Volatile.Read(ref _connectionCount);

    /// <summary>Requests whose answer the proxy withholds because of <see cref="DropResponses"/> (counted when the
    /// request passes, so a connection closing before the answer arrives does not change the count).</summary>
    public int DroppedResponses
    {
        get
        {
            lock (_faultGate)
            {
                return _droppedResponses;
            }
        }
    }

    /// <summary>Connections the proxy closed because of <see cref="CloseAfterNextRequest"/>.</summary>
    public int ClosedConnections => Volatile.Read(ref _closedConnections);

    /// <summary>Produce answers whose throttle_time_ms the proxy rewrote because of <see cref="ThrottleProduceResponses"/>.</summary>
    public int ThrottledResponses => Volatile.Read(ref _throttledAnswers);

    /// <summary>
    /// The most Produce requests carrying the same partition that were outstanding at once on one connection:
    /// sent by the client, their answer not yet being passed on (or dropped). Never more than the client had in flight,
    /// however the proxy's loops are scheduled. Above 1, a partition's batches were pipelined.
    /// </summary>
    public int MaxProduceInFlightPerPartition => Volatile.Read(ref _maxProduceInFlightPerPartition);

    /// <summary>Frames the proxy could not decode (a bug in the proxy or in the client): empty when all is well.</summary>
    public IReadOnlyList<string> Errors => [.. _errors];

    /// <summary>
    /// Starts one listener per broker of <paramref name="cluster"/> and makes the brokers advertise them.
    /// Create topics and set leaders on the cluster as usual; disposing the proxy restores the advertised ports.
    /// </summary>
    public static KafkaProxy Start(MockCluster cluster) => Start(cluster, sasl: null);

    /// <summary>
    /// As <see cref="Start(MockCluster)"/>, with the brokers' listeners speaking SASL (SASL_PLAINTEXT): every connection
    /// must authenticate with <paramref name="sasl"/> before anything is forwarded.
    /// </summary>
    public static KafkaProxy Start(MockCluster cluster, SaslFront? sasl)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        // librdkafka lists the bootstrap servers in broker id order (1..N).
        var ports = cluster.BootstrapServers.Split(',')
            .Select(s => int.Parse(s[(s.LastIndexOf(':') + 1)..], NumberStyles.None, CultureInfo.InvariantCulture))
            .ToArray();
        var brokers = new ProxyBroker[ports.Length];
        try
        {
            for (var i = 0; i < ports.Length; i++)
            {
                var listener = new TcpListener(IPAddress.Loopback, 0);
                listener.Start(); // before ProxyBroker reads the port it was given
                brokers[i] = new ProxyBroker(i + 1, ports[i], listener);
                cluster.SetBrokerHostPort(i + 1, AdvertisedHost(sasl), brokers[i].ListenPort);
            }
        }
        catch
        {
            foreach (var b in brokers.Where(b => b is not null))
            {
                b.Listener.Stop();
            }

            throw;
        }

        var proxy = new KafkaProxy(cluster, brokers, sasl);
        foreach (var b in brokers)
        {
            proxy._acceptLoops.Add(Task.Run(() => proxy.AcceptLoopAsync(b)));
        }

        return proxy;
    }

    /// <summary>Adds <paramref name="latency"/> to every answer of broker <paramref name="brokerId"/> (-1 = all
    /// brokers) from now on; answers keep their order. <see cref="TimeSpan.Zero"/> removes it.</summary>
    public void SetLatency(int brokerId, TimeSpan latency)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(latency, TimeSpan.Zero);
        foreach (var b in Select(brokerId))
        {
            b.Latency = latency;
        }
    }

    /// <summary>The answers to the next <paramref name="count"/> requests with <paramref name="apiKey"/> (any
    /// broker) are swallowed, so the client's request times out. The broker still processed them, and the
    /// oracle still sees the answers.</summary>
    public void DropResponses(KafkaApiKey apiKey, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        lock (_faultGate)
        {
            _dropResponses[(short)apiKey] = count;
        }
    }

    /// <summary>The next request with <paramref name="apiKey"/> is forwarded, and its connection is closed when
    /// the broker's answer comes back, instead of passing the answer on. Waiting for the answer lets the
    /// oracle know whether the broker stored the request; for the client the answer is lost.</summary>
    public void CloseAfterNextRequest(KafkaApiKey apiKey)
    {
        lock (_faultGate)
        {
            _closeAfter.Add((short)apiKey);
        }
    }

    /// <summary>
    /// When true, a Produce batch the test broker stored but a real broker would reject (out of order, fenced,
    /// unknown producer: the mock does not check an idempotent producer's sequences) is answered to the producer
    /// with the real broker's error instead of success, so the producer goes down the path it would with a real
    /// broker. The test broker still holds the batch: read its log back only with this off. Off by default.
    /// </summary>
    public bool EnforceSequenceRules
    {
        get => Volatile.Read(ref _enforceSequenceRules) != 0;
        set => Volatile.Write(ref _enforceSequenceRules, value ? 1 : 0);
    }

    /// <summary>The next <paramref name="count"/> Produce answers (any broker) that the test broker gave without
    /// error reach the producer with <paramref name="errorCode"/> for every partition instead: the broker stored
    /// the batches, the producer is told otherwise (e.g. DUPLICATE_SEQUENCE_NUMBER, 46, which a real broker
    /// answers for a batch it already has). The oracle judges what the broker did.</summary>
    public void RewriteProduceErrors(int count, short errorCode)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        lock (_faultGate)
        {
            _rewriteAnswers = count;
            _rewriteCode = errorCode;
        }
    }

    /// <summary>The next <paramref name="count"/> Produce answers carrying record batches (v3+, any broker) tell the client it is throttled
    /// for <paramref name="throttle"/> (KIP-219: throttle_time_ms); the answers are otherwise passed on as they are.</summary>
    public void ThrottleProduceResponses(int count, TimeSpan throttle)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfLessThan(throttle, TimeSpan.Zero);
        lock (_faultGate)
        {
            _throttleAnswers = count;
            _throttleTimeMs = (int)throttle.TotalMilliseconds;
        }
    }

    /// <summary>Stops forwarding anything, either way, on every connection of broker <paramref name="brokerId"/>
    /// (-1 = all) for <paramref name="duration"/> from now; frames wait, none is lost.</summary>
    public void Stall(int brokerId, TimeSpan duration)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(duration, TimeSpan.Zero);
        var until = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        foreach (var b in Select(brokerId))
        {
            b.StalledUntil = until;
        }
    }

    /// <summary>
    /// Fences the producer that runs as <paramref name="transactionalId"/>, as a new producer with the same id would on
    /// a real cluster: the proxy sends the transaction coordinator an InitProducerId (v3, KIP-360) with that producer's
    /// current id and epoch (which the <see cref="Transactions"/> oracle saw), and the mock moves the id to the next
    /// epoch. The producer's later AddPartitionsToTxn, AddOffsetsToTxn, TxnOffsetCommit and EndTxn get
    /// INVALID_PRODUCER_EPOCH; its open transaction counts as aborted, and its later batches as fenced (the mock may
    /// still store them: it only checks sequences on Produce; <see cref="TransactionOracle.OutcomeOf"/> says
    /// <see cref="TransactionOutcome.Fenced"/>). A second InitProducerId without the current id would not do: the mock
    /// hands out a new producer id and leaves the old one valid.
    /// </summary>
    /// <returns>The producer id and the new epoch.</returns>
    /// <exception cref="InvalidOperationException">No producer id is known for the transactional id, or the mock refused.</exception>
    public async Task<(long ProducerId, short Epoch)> FenceAsync(string transactionalId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(transactionalId);
        if (!Transactions.TryGetProducerId(transactionalId, out var producerId, out var epoch))
        {
            throw new InvalidOperationException($"No InitProducerId for transactional id '{transactionalId}' went through the proxy.");
        }

        var coordinator = await CoordinatorAsync(transactionalId, cancellationToken).ConfigureAwait(false);
        var (error, newId, newEpoch) = await TxnAdmin.BumpEpochAsync(coordinator.UpstreamPort, transactionalId, producerId, epoch, cancellationToken).ConfigureAwait(false);
        if (error != 0)
        {
            throw new InvalidOperationException($"The coordinator (broker {coordinator.Id}) refused to bump '{transactionalId}' ({producerId}/{epoch}): error {error}.");
        }

        Transactions.OnProducerIdChanged(transactionalId, newId, newEpoch);
        return (newId, newEpoch);
    }

    /// <summary>The id of the broker that coordinates <paramref name="transactionalId"/> (asked of the mock directly, so
    /// that a test can take that broker down or slow it).</summary>
    /// <exception cref="InvalidOperationException">No broker answered.</exception>
    public async Task<int> TransactionCoordinatorAsync(string transactionalId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(transactionalId);
        return (await CoordinatorAsync(transactionalId, cancellationToken).ConfigureAwait(false)).Id;
    }

    private async Task<ProxyBroker> CoordinatorAsync(string transactionalId, CancellationToken cancellationToken)
    {
        foreach (var broker in _brokers)
        {
            try
            {
                var node = await TxnAdmin.FindTransactionCoordinatorAsync(broker.UpstreamPort, transactionalId, cancellationToken).ConfigureAwait(false);
                if (node >= 1 && node <= _brokers.Length)
                {
                    return _brokers[node - 1];
                }
            }
            catch (Exception e) when (e is System.Net.Sockets.SocketException or IOException or EndOfStreamException)
            {
                // that broker is down: ask the next
            }
        }

        throw new InvalidOperationException($"No broker named a transaction coordinator for '{transactionalId}'.");
    }

    /// <summary>
    /// Turns on the <see cref="Proxy.TransactionFront"/> (once; later calls return the same one): read_committed Fetch and
    /// ListOffsets answers, fencing, transactional offsets and marker CRCs as a Kafka broker has them. Call it before any
    /// client connects: it also caps the Fetch versions advertised in ApiVersions answers at
    /// <see cref="TransactionFront.MaxFetchVersion"/>.
    /// </summary>
    public TransactionFront EnableTransactionFront()
    {
        lock (_faultGate)
        {
            return TransactionFront ??= new TransactionFront();
        }
    }

    /// <summary>Stops listening, closes every connection and restores the ports the brokers advertise.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        foreach (var b in _brokers)
        {
            b.Listener.Stop();
        }

        foreach (var c in _connections.Values)
        {
            c.Dispose();
        }

        await Task.WhenAll(_acceptLoops.Concat(_connections.Values.Select(c => c.Completion))).ConfigureAwait(false);
        foreach (var b in _brokers)
        {
            try
            {
                _cluster.SetBrokerHostPort(b.Id, "127.0.0.1", b.UpstreamPort);
            }
            catch (ObjectDisposedException)
            {
                // The cluster went first; nothing to restore.
            }
        }

        _stop.Dispose();
    }

    /// <inheritdoc/>
    public override string ToString() => $"KafkaProxy({BootstrapServers})";

    /// <summary>Takes the faults pending for one request with <paramref name="apiKey"/>.</summary>
    internal (bool DropResponse, bool CloseOnResponse) TakeFaults(short apiKey)
    {
        lock (_faultGate)
        {
            var drop = _dropResponses.TryGetValue(apiKey, out var n) && n > 0;
            if (drop)
            {
                _dropResponses[apiKey] = n - 1;
                _droppedResponses++;
            }

            return (drop, _closeAfter.Remove(apiKey));
        }
    }

    /// <summary>The error code to write into one successful Produce answer, or null when none is pending.</summary>
    internal short? TakeRewrite()
    {
        lock (_faultGate)
        {
            if (_rewriteAnswers <= 0)
            {
                return null;
            }

            _rewriteAnswers--;
            return _rewriteCode;
        }
    }

    /// <summary>The throttle time to write into one Produce answer, or null when none is pending.</summary>
    internal int? TakeThrottle()
    {
        lock (_faultGate)
        {
            if (_throttleAnswers <= 0)
            {
                return null;
            }

            _throttleAnswers--;
            _throttledAnswers++;
            return _throttleTimeMs;
        }
    }

    internal void ReportProduceInFlight(int outstanding)
    {
        var seen = Volatile.Read(ref _maxProduceInFlightPerPartition);
        while (outstanding > seen)
        {
            var previous = Interlocked.CompareExchange(ref _maxProduceInFlightPerPartition, outstanding, seen);
            if (previous == seen)
            {
                return;
            }

            seen = previous;
        }
    }

    internal void CountClosedConnection() => Interlocked.Increment(ref _closedConnections);

    internal void ReportError(string message) => _errors.Enqueue(message);

    private ProxyBroker[] Select(int brokerId)
    {
        if (brokerId == -1)
        {
            return _brokers;
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(brokerId, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(brokerId, _brokers.Length);
        return [_brokers[brokerId - 1]];
    }

    private async Task AcceptLoopAsync(ProxyBroker broker)
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await broker.Listener.AcceptSocketAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return; // stopped
            }

            var id = Interlocked.Increment(ref _connectionCount);
            var connection = new ProxyConnection(this, broker, client, id);
            _connections[id] = connection;
            _ = connection.RunAsync(_stop.Token).ContinueWith(_ => _connections.TryRemove(id, out ProxyConnection? _), TaskScheduler.Default);
        }
    }
}

/// <summary>One broker as the proxy sees it: where it listens, where the mock listens, its faults.</summary>
internal sealed class ProxyBroker(int id, int upstreamPort, TcpListener listener)
{
    private long _latencyTicks;
    private long _stalledUntil;

    public int Id { get; } = id;

    public int UpstreamPort { get; } = upstreamPort;

    public TcpListener Listener { get; } = listener;

    public int ListenPort { get; } = ((IPEndPoint)listener.LocalEndpoint).Port;

    public TimeSpan Latency
    {
        get => TimeSpan.FromTicks(Volatile.Read(ref _latencyTicks));
        set => Volatile.Write(ref _latencyTicks, value.Ticks);
    }

    /// <summary>A <see cref="Stopwatch"/> timestamp until which nothing is forwarded.</summary>
    public long StalledUntil
    {
        get => Volatile.Read(ref _stalledUntil);
        set => Volatile.Write(ref _stalledUntil, value);
    }

    /// <summary>Waits until a stall (possibly extended meanwhile) is over.</summary>
    public async Task WaitWhileStalledAsync(CancellationToken ct)
    {
        while (true)
        {
            var wait = -Stopwatch.GetElapsedTime(StalledUntil);
            if (wait <= TimeSpan.Zero)
            {
                return;
            }

            await Task.Delay(wait, ct).ConfigureAwait(false);
        }
    }
}
