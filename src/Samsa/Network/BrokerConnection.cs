using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Network;

/// <summary>
/// One TCP connection to one broker, over TLS when the producer uses it (see <see cref="ConnectionTransport"/>).
/// Requests are pipelined: each is written as soon as it is
/// handed over, and Kafka answers them in the order they were sent, so a FIFO of pending
/// requests matched by correlation id is enough to pair answers with questions.
/// </summary>
internal sealed partial class BrokerConnection : IAsyncDisposable
{
    // A broker never sends a response this large to a producer; a bigger size means a corrupt stream.
    private const int MaxResponseSize = 100 * 1024 * 1024;

    // How long a closing connection waits for the broker to close its side.
    private static readonly TimeSpan GracefulCloseWait = TimeSpan.FromSeconds(2);

    private readonly ConnectionTransport _transport;
    private readonly ConnectionSettings _settings;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly Queue<PendingRequest> _pending = new();

    // Correlation ids of requests that expect no answer (Produce with acks=0). Kafka never
    // answers them, but librdkafka's mock broker does; such an answer is recognised and dropped
    // instead of being taken for a broken stream. Bounded: only recent ids can be answered late.
    private readonly Queue<int> _unanswered = new();
    private const int MaxUnanswered = 1024;
    private readonly Timer _timeoutTimer;
    private readonly CancellationTokenSource _closing = new();
    private Task _receiveLoop = Task.CompletedTask;
    private int _nextCorrelationId;
    private long _lastUsedMs = Environment.TickCount64;
    private bool _timerArmed;
    private KafkaException? _failure;

    // Set once the first exchange (ApiVersions) is done; until then a failure may be a TLS refusal in disguise.
    private volatile bool _established;

    private bool _closingByProducer;

    private BrokerConnection(ConnectionTransport transport, BrokerAddress address, ConnectionSettings settings)
    {
        _transport = transport;
        Address = address;
        _settings = settings;
        _timeoutTimer = new Timer(static state => ((BrokerConnection)state!).OnTimeoutTimer(), this, Timeout.Infinite, Timeout.Infinite);
    }

    public BrokerAddress Address { get; }

    /// <summary>What the broker supports; set once the ApiVersions exchange is done.</summary>
    public ApiVersionTable Versions { get; private set; } = null!;

    public bool IsFailed => Volatile.Read(ref _failure) is not null;

    /// <summary>True once the producer started closing this connection: its end is then no loss worth logging.</summary>
    public bool IsClosing => Volatile.Read(ref _closingByProducer);

    /// <summary>When (<see cref="Environment.TickCount64"/>) a request was last written, an answer read, or the connection handed out: <c>connections.max.idle.ms</c> counts from it.</summary>
    public long LastUsedMs => Volatile.Read(ref _lastUsedMs);

    /// <summary>Restarts the idle clock, e.g. when the connection is handed to someone about to send on it.</summary>
    public void MarkUsed() => Volatile.Write(ref _lastUsedMs, Environment.TickCount64);

    /// <summary>True while some request waits for its answer; such a connection is never closed as idle.</summary>
    public bool HasPendingRequests
    {
        get
        {
            lock (_pending)
            {
                return _pending.Count > 0;
            }
        }
    }

    /// <summary>Raised once, from whichever thread noticed, when the connection fails or closes.</summary>
    public event Action<BrokerConnection, KafkaException>? Failed;

    /// <summary>Connects, makes the TLS handshake if the settings have TLS, starts reading, and negotiates API versions before returning.</summary>
    /// <param name="address">The broker, as named in metadata or bootstrap.servers.</param>
    /// <param name="settings">What every connection shares.</param>
    /// <param name="resolved">The address to connect to, one of those the broker's name resolved to (client.dns.lookup).</param>
    /// <param name="cancellationToken">Cancels connecting and the version exchange.</param>
    public static async Task<BrokerConnection> ConnectAsync(BrokerAddress address, ConnectionSettings settings, IPAddress resolved, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };

        // send.buffer.bytes / receive.buffer.bytes: -1 keeps the operating system's default.
        if (settings.SendBufferBytes >= 0)
        {
            socket.SendBufferSize = settings.SendBufferBytes;
        }

        if (settings.ReceiveBufferBytes >= 0)
        {
            socket.ReceiveBufferSize = settings.ReceiveBufferBytes;
        }
        ConnectionTransport transport;
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            timeout.CancelAfter(settings.ConnectTimeout);
            try
            {
                await socket.ConnectAsync(new IPEndPoint(resolved, address.Port), timeout.Token).ConfigureAwait(false);

                // The TLS handshake counts against the same connect timeout (KIP-601: the connection is set up
                // once it is ready for requests).
                transport = settings.Tls is null
                    ? new SocketTransport(socket)
                    : await settings.Tls.HandshakeAsync(socket, address, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                var handshaking = socket.Connected;
                socket.Dispose();
                var why = e is not OperationCanceledException ? e.Message
                    : handshaking ? $"the TLS handshake did not finish within socket.connection.setup.timeout.ms ({settings.ConnectTimeout.TotalMilliseconds:0} ms)"
                    : $"no answer within socket.connection.setup.timeout.ms ({settings.ConnectTimeout.TotalMilliseconds:0} ms)";
                var at = address.Host == resolved.ToString() ? "" : $" at {resolved}";
                throw new KafkaNetworkException($"Could not connect to broker {address}{at}: {why}.", e);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        var connection = new BrokerConnection(transport, address, settings);
        connection._receiveLoop = Task.Run(connection.ReceiveLoopAsync, CancellationToken.None);
        try
        {
            connection.Versions = await connection.NegotiateVersionsAsync(cancellationToken).ConfigureAwait(false);
            connection._established = true;
            if (settings.Sasl is { } sasl)
            {
                await connection.AuthenticateAsync(sasl, cancellationToken).ConfigureAwait(false);
            }
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return connection;
    }

    /// <summary>Sends a generated request at the given version and decodes its response.</summary>
    public Task<TResponse> SendAsync<TResponse>(IKafkaRequest<TResponse> request, short apiVersion, CancellationToken cancellationToken = default)
        where TResponse : IKafkaResponse<TResponse> =>
        SendAsync(request, apiVersion, writeLockHeld: false, cancellationToken);

    /// <summary>
    /// Sends a request at <paramref name="apiVersion"/> whose request and response have the layout of the older
    /// <paramref name="layoutVersion"/> (a version that only changed the broker's behaviour, newer than our definitions).
    /// </summary>
    public Task<TResponse> SendAsync<TResponse>(IKafkaRequest<TResponse> request, short apiVersion, short layoutVersion, CancellationToken cancellationToken = default)
        where TResponse : IKafkaResponse<TResponse> =>
        SendAsync(request, apiVersion, writeLockHeld: false, cancellationToken, layoutVersion);

    /// <summary>As above; <paramref name="writeLockHeld"/>: the caller holds the write lock (re-authentication).</summary>
    internal async Task<TResponse> SendAsync<TResponse>(IKafkaRequest<TResponse> request, short apiVersion, bool writeLockHeld, CancellationToken cancellationToken, short layoutVersion = -1)
        where TResponse : IKafkaResponse<TResponse>
    {
        layoutVersion = layoutVersion < 0 ? apiVersion : layoutVersion;
        var handler = new ResponseHandler<TResponse>();
        using var buffer = new PooledBufferWriter();
        RequestFrame.Write(buffer, request, apiVersion, _settings.ClientId, layoutVersion);
        await SendFrameAsync(buffer, handler, layoutVersion, TResponse.ResponseHeaderVersion(layoutVersion), writeLockHeld).ConfigureAwait(false);
        return await handler.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Sends an encoded frame (see <see cref="RequestFrame"/>). With a handler, the response goes
    /// to it on the receive loop; without one (Produce with acks=0) nothing is expected back.
    /// The frame's bytes may be reused once this returns. <paramref name="writeLockHeld"/>: the caller holds the
    /// write lock already (a re-authentication, which keeps other requests out until it is done).
    /// </summary>
    public ValueTask SendFrameAsync(PooledBufferWriter frame, IResponseHandler? handler, short apiVersion, short responseHeaderVersion, bool writeLockHeld = false) =>
        SendAsync(frame, spliced: null, handler, apiVersion, responseHeaderVersion, writeLockHeld);

    /// <summary>
    /// Whether a request may be sent as a <see cref="SplicedFrame"/>: a plain socket gathers the parts in one write.
    /// Through TLS each part would be a write (and a TLS record) of its own, so the parts are copied instead.
    /// </summary>
    public bool CanSplice => _transport.CanGather;

    /// <summary>As <see cref="SendFrameAsync(PooledBufferWriter, IResponseHandler?, short, short, bool)"/>, for a request with spliced parts (only where <see cref="CanSplice"/>).</summary>
    public ValueTask SendFrameAsync(SplicedFrame request, IResponseHandler? handler, short apiVersion, short responseHeaderVersion) =>
        SendAsync(request.Frame, request.HasParts ? request : null, handler, apiVersion, responseHeaderVersion, writeLockHeld: false);

    private async ValueTask SendAsync(PooledBufferWriter frame, SplicedFrame? spliced, IResponseHandler? handler, short apiVersion, short responseHeaderVersion, bool writeLockHeld)
    {
        if (!writeLockHeld)
        {
            await _writeLock.WaitAsync().ConfigureAwait(false);
        }

        try
        {
            var failure = Volatile.Read(ref _failure);
            if (failure is not null)
            {
                handler?.OnFailure(failure);
                return;
            }

            var correlationId = ++_nextCorrelationId;
            BinaryPrimitives.WriteInt32BigEndian(frame.WrittenSpanForPatching[RequestFrame.CorrelationIdOffset..], correlationId);
            if (handler is null)
            {
                RememberUnanswered(correlationId);
            }
            else if (!TryEnqueue(new PendingRequest(correlationId, handler, apiVersion, responseHeaderVersion, Environment.TickCount64 + (long)_settings.RequestTimeout.TotalMilliseconds)))
            {
                // The connection failed since the check above; its failure has already failed
                // everything that was pending, so this request is failed here instead.
                handler.OnFailure(Volatile.Read(ref _failure)!);
                return;
            }

            MarkUsed();
            if (spliced is null)
            {
                await _transport.SendAsync(frame.WrittenMemory).ConfigureAwait(false);
            }
            else
            {
                await _transport.SendAsync(spliced.Segments()).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException)
        {
            var error = _established ? null : _transport.ExplainEarlyFailure(e);
            if (error is null && !_established && _transport.EarlyFailureGrace > TimeSpan.Zero)
            {
                // The receive loop may be about to read why (a TLS alert); its failure, if it comes first, wins.
                await Task.WhenAny(_receiveLoop, Task.Delay(_transport.EarlyFailureGrace)).ConfigureAwait(false);
            }

            Fail(error ?? new KafkaNetworkException($"Lost the connection to broker {Address} while sending: {e.Message}", e));
        }
        finally
        {
            if (!writeLockHeld)
            {
                _writeLock.Release();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        // Close gracefully: half-close, then let the broker read what was written and close its
        // side. Closing outright while answers sit unread resets the connection, and a reset
        // can drop requests the broker has not read yet (acks=0 ones have no other trace).
        Volatile.Write(ref _closingByProducer, true);
        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (!IsFailed)
            {
                await _transport.ShutdownSendAsync().ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is SocketException or IOException or ObjectDisposedException)
        {
        }
        finally
        {
            _writeLock.Release();
        }

        await Task.WhenAny(_receiveLoop, Task.Delay(GracefulCloseWait)).ConfigureAwait(false);
        Fail(new KafkaNetworkException($"The connection to broker {Address} was closed by the producer."));
        await _receiveLoop.ConfigureAwait(false);
        await _timeoutTimer.DisposeAsync().ConfigureAwait(false);
        StopReauthentication();
        _closing.Dispose();
    }

    private async Task<ApiVersionTable> NegotiateVersionsAsync(CancellationToken cancellationToken)
    {
        // Ask at our highest version; a broker that does not know it answers UNSUPPORTED_VERSION
        // with its own range in a v0 body, and we ask again at its highest (KIP-511).
        var version = ApiVersionsRequest.HighestSupportedVersion;
        for (var attempt = 0; attempt < 2; attempt++)
        {
            var request = new ApiVersionsRequest
            {
                ClientSoftwareName = ClientSoftware.Name,
                ClientSoftwareVersion = ClientSoftware.Version,
            };
            var handler = new ApiVersionsHandler();
            using (var buffer = new PooledBufferWriter())
            {
                RequestFrame.Write(buffer, request, version, _settings.ClientId);
                await SendFrameAsync(buffer, handler, version, ApiVersionsResponse.ResponseHeaderVersion(version)).ConfigureAwait(false);
            }

            var response = await handler.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            if (response.ErrorCode == (short)ErrorCode.None)
            {
                return new ApiVersionTable(response);
            }

            var theirs = response.ApiKeys.Find(k => k.ApiKey == (short)ApiKey.ApiVersions);
            var next = theirs?.MaxVersion ?? 0;
            if (response.ErrorCode != (short)ErrorCode.UnsupportedVersion || next >= version)
            {
                break;
            }

            version = next;
        }

        throw new KafkaNetworkException($"Broker {Address} did not accept any ApiVersions request version Samsa can send.");
    }

    private void RememberUnanswered(int correlationId)
    {
        lock (_pending)
        {
            if (_unanswered.Count == MaxUnanswered)
            {
                _unanswered.Dequeue();
            }

            _unanswered.Enqueue(correlationId);
        }
    }

    // Checked under the same lock that Fail takes to collect the pending requests, so a request is
    // either collected there or refused here: it can never be left behind with nobody to answer it.
    private bool TryEnqueue(in PendingRequest request)
    {
        lock (_pending)
        {
            if (IsFailed)
            {
                return false;
            }

            _pending.Enqueue(request);
            if (!_timerArmed && !IsFailed)
            {
                _timerArmed = true;
                _timeoutTimer.Change(_settings.RequestTimeout, Timeout.InfiniteTimeSpan);
            }

            return true;
        }
    }

    // The timer is armed only while requests are pending, and checks just the oldest: answers
    // come in order, so if the oldest is on time, all are. An idle connection wakes nobody.
    private void OnTimeoutTimer()
    {
        try
        {
            CheckOldestRequest();
        }
        catch (ObjectDisposedException)
        {
            // The connection was disposed meanwhile; a timer callback must never throw.
        }
    }

    private void CheckOldestRequest()
    {
        long dueInMs;
        lock (_pending)
        {
            if (!_pending.TryPeek(out var oldest))
            {
                _timerArmed = false;
                return;
            }

            dueInMs = oldest.DeadlineTicks - Environment.TickCount64;
            if (dueInMs > 0)
            {
                _timeoutTimer.Change(TimeSpan.FromMilliseconds(dueInMs), Timeout.InfiniteTimeSpan);
                return;
            }

            _timerArmed = false;
        }

        // Kafka's Java client also closes the connection here: a late answer cannot be told apart.
        Fail(new KafkaTimeoutException(
            $"Broker {Address} did not answer within request.timeout.ms ({_settings.RequestTimeout.TotalMilliseconds:0} ms); the connection was closed."));
    }

    // One async method for the whole loop, so that its state machine is allocated once per
    // connection rather than once per receive.
    private async Task ReceiveLoopAsync()
    {
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        int start = 0, end = 0;
        try
        {
            while (true)
            {
                // A frame is a 4-byte size, then that many bytes; read until one is whole.
                var needed = 4;
                while (end - start < needed)
                {
                    if (buffer.Length - start < needed)
                    {
                        buffer = MakeRoom(buffer, ref start, ref end, needed);
                    }

                    var read = await _transport.ReceiveAsync(buffer.AsMemory(end), _closing.Token).ConfigureAwait(false);
                    if (read == 0)
                    {
                        throw new EndOfStreamException();
                    }

                    end += read;
                    if (needed == 4 && end - start >= 4)
                    {
                        var size = BinaryPrimitives.ReadInt32BigEndian(buffer.AsSpan(start));
                        if (size < 4 || size > MaxResponseSize)
                        {
                            throw new KafkaProtocolException($"a response frame of {size} bytes");
                        }

                        needed = 4 + size;
                    }
                }

                // Several frames may have arrived in one read: dispatch every whole one.
                while (end - start >= 4)
                {
                    var size = BinaryPrimitives.ReadInt32BigEndian(buffer.AsSpan(start));
                    if (size < 4 || size > MaxResponseSize)
                    {
                        throw new KafkaProtocolException($"a response frame of {size} bytes");
                    }

                    if (end - start < 4 + size)
                    {
                        break;
                    }

                    Dispatch(buffer.AsSpan(start + 4, size));
                    start += 4 + size;
                }

                if (start == end)
                {
                    start = end = 0;
                }
            }
        }
        catch (Exception e)
        {
            Fail(e as KafkaException ?? (_established ? null : _transport.ExplainEarlyFailure(e)) ?? new KafkaNetworkException(
                e is EndOfStreamException ? $"Broker {Address} closed the connection." : $"Lost the connection to broker {Address}: {e.Message}",
                e));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Moves the unread bytes to the front, into a bigger buffer if a frame of <paramref name="needed"/> bytes would not fit.</summary>
    private static byte[] MakeRoom(byte[] buffer, ref int start, ref int end, int needed)
    {
        var target = buffer.Length >= needed ? buffer : ArrayPool<byte>.Shared.Rent(needed);
        Buffer.BlockCopy(buffer, start, target, 0, end - start);
        if (!ReferenceEquals(target, buffer))
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        end -= start;
        start = 0;
        return target;
    }

    private void Dispatch(ReadOnlySpan<byte> frame)
    {
        var correlationId = BinaryPrimitives.ReadInt32BigEndian(frame);
        MarkUsed();
        PendingRequest request;
        lock (_pending)
        {
            if (_unanswered.Contains(correlationId) && !(_pending.TryPeek(out var head) && head.CorrelationId == correlationId))
            {
                return;
            }

            if (!_pending.TryPeek(out request))
            {
                throw new KafkaProtocolException($"Broker {Address} sent a response (correlation id {correlationId}) to no request.");
            }

            // A mismatch leaves the request in the queue, so that the connection's failure fails it
            // with the others instead of leaving it with nobody to answer it.
            if (request.CorrelationId != correlationId)
            {
                throw new KafkaProtocolException(
                    $"Broker {Address} answered correlation id {correlationId} where {request.CorrelationId} was next; responses must come in request order.");
            }

            _pending.Dequeue();
        }

        var reader = new KafkaReader(frame[4..]);
        if (request.ResponseHeaderVersion >= 1)
        {
            reader.SkipTaggedFields();
        }

        if (reader.Failed)
        {
            request.Handler.OnFailure(new KafkaNetworkException($"Broker {Address} sent a malformed response header."));
            return;
        }

        try
        {
            request.Handler.OnResponse(frame[(4 + reader.Position)..], request.ApiVersion);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // One response the handler could not take must not stop the answers behind it.
            request.Handler.OnFailure(new KafkaNetworkException($"Could not process a response from broker {Address}: {e.Message}", e));
        }
    }

    private void Fail(KafkaException error)
    {
        if (Interlocked.CompareExchange(ref _failure, error, null) is not null)
        {
            return;
        }

        _closing.Cancel();
        _transport.Dispose();
        PendingRequest[] orphans;
        lock (_pending)
        {
            orphans = _pending.ToArray();
            _pending.Clear();
        }

        foreach (var orphan in orphans)
        {
            orphan.Handler.OnFailure(error);
        }

        Failed?.Invoke(this, error);
    }

    private readonly record struct PendingRequest(int CorrelationId, IResponseHandler Handler, short ApiVersion, short ResponseHeaderVersion, long DeadlineTicks);

    /// <summary>
    /// Reads an ApiVersions response whose error code decides its layout: Kafka answers
    /// UNSUPPORTED_VERSION with a v0 body whatever version was asked.
    /// </summary>
    private sealed class ApiVersionsHandler : IResponseHandler
    {
        private readonly TaskCompletionSource<ApiVersionsResponse> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<ApiVersionsResponse> Task => _completion.Task;

        public void OnResponse(ReadOnlySpan<byte> body, short apiVersion)
        {
            var errorCode = body.Length >= 2 ? BinaryPrimitives.ReadInt16BigEndian(body) : (short)0;
            var unsupported = errorCode == (short)ErrorCode.UnsupportedVersion;
            var reader = new KafkaReader(body);
            var response = ApiVersionsResponse.Read(ref reader, unsupported ? (short)0 : apiVersion);
            if (reader.Failed && unsupported)
            {
                response = ReadCompactErrorBody(body);
            }
            else if (reader.Failed)
            {
                _completion.TrySetException(new KafkaNetworkException($"Malformed ApiVersions v{apiVersion} response: {reader.FailureReason}."));
                return;
            }

            _completion.TrySetResult(response);
        }

        public void OnFailure(KafkaException error) => _completion.TrySetException(error);

        // librdkafka's mock answers a too-new request with the error code, an unsigned-varint
        // count and bare (key, min, max) triples. Reading that shape still finds the broker's
        // ApiVersions range; if even that fails, an empty list makes the caller fall back to v0.
        private static ApiVersionsResponse ReadCompactErrorBody(ReadOnlySpan<byte> body)
        {
            var reader = new KafkaReader(body);
            var response = new ApiVersionsResponse { ErrorCode = reader.ReadInt16() };
            var count = reader.ReadUnsignedVarInt();
            for (var i = 0u; i < count && !reader.Failed; i++)
            {
                var key = new ApiVersionsResponse.ApiVersion { ApiKey = reader.ReadInt16(), MinVersion = reader.ReadInt16(), MaxVersion = reader.ReadInt16() };
                if (!reader.Failed)
                {
                    response.ApiKeys.Add(key);
                }
            }

            return response;
        }
    }
}
