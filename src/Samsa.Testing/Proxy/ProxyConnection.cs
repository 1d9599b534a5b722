using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Samsa.Testing.Security;

namespace Samsa.Testing.Proxy;

/// <summary>
/// One client connection and its twin to the mock broker: requests are forwarded as read, answers in the
/// order the broker sends them. Each direction is one loop, so frames never overtake one another.
/// </summary>
/// <remarks>
/// When the client closes its side, the requests it sent are still answered by the broker; the connection
/// stays open towards the broker until those answers are in (at most <see cref="DrainBound"/>), so that the
/// oracle knows whether they were stored, as a real broker would have stored them.
/// </remarks>
internal sealed class ProxyConnection : IDisposable
{
    private const short ProduceKey = (short)KafkaApiKey.Produce;
    private static readonly TimeSpan DrainBound = TimeSpan.FromSeconds(5);

    private readonly KafkaProxy _proxy;
    private readonly ProxyBroker _broker;
    private readonly Socket _client;
    private readonly Socket _upstream = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
    private readonly ConcurrentDictionary<int, PendingRequest> _pending = new();
    private readonly Dictionary<TopicPartition, int> _outstanding = [];
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SaslServerSession? _sasl;
    private readonly SemaphoreSlim _clientWrite = new(1, 1);
    private int _clientGone;

    // Requests forwarded whose answer has not been passed on (or dropped) yet: an answer the SASL front gives itself
    // waits until this is 0, so that answers keep the order of their requests.
    private int _answersOwed;

    private readonly int _id;

    public ProxyConnection(KafkaProxy proxy, ProxyBroker broker, Socket client, int id)
    {
        _id = id;
        _proxy = proxy;
        _broker = broker;
        _client = client;
        _client.NoDelay = true;
        _sasl = proxy.Sasl is { } front ? new SaslServerSession(front, broker.Id) : null;
    }

    /// <summary>Completes when both directions have stopped and the sockets are closed.</summary>
    public Task Completion => _completion.Task;

    public async Task RunAsync(CancellationToken ct)
    {
        try
        {
            try
            {
                await _upstream.ConnectAsync(new IPEndPoint(IPAddress.Loopback, _broker.UpstreamPort), ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
            {
                return; // the broker is down: the client sees its connection closed, as it would
            }

            // A direction that fails closes both sockets, which ends the other; the client closing its side
            // only ends the requests (see the remarks).
            await Task.WhenAll(PumpAsync(RequestsAsync, isRequests: true, ct), PumpAsync(ResponsesAsync, isRequests: false, ct)).ConfigureAwait(false);
        }
        finally
        {
            Dispose();
            foreach (var pending in _pending.Values)
            {
                foreach (var batch in pending.Batches)
                {
                    _proxy.Oracle.Unanswered(batch, _broker.Id);
                }
            }

            _proxy.Transactions.OnConnectionClosed(_id);
            _completion.TrySetResult();
        }
    }

    /// <summary>Closes both sockets; the loops then end.</summary>
    public void Dispose()
    {
        _client.Dispose();
        _upstream.Dispose();
    }

    private async Task PumpAsync(Func<CancellationToken, Task> pump, bool isRequests, CancellationToken ct)
    {
        try
        {
            await pump(ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException or EndOfStreamException)
        {
            // The peer or the proxy closed the connection.
        }
        catch (FormatException e)
        {
            _proxy.ReportError($"broker {_broker.Id}: {e.Message}");
        }
        finally
        {
            // The requests ending because the client hung up leave the answers to drain.
            if (!isRequests || Volatile.Read(ref _clientGone) == 0 || _pending.IsEmpty)
            {
                Dispose();
            }
        }
    }

    private async Task RequestsAsync(CancellationToken ct)
    {
        while (true)
        {
            byte[] frame;
            try
            {
                frame = await ReadFrameAsync(_client, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is EndOfStreamException or SocketException or IOException)
            {
                // The client hung up (closed, or reset the connection, as a client does that closes with
                // its answers unread): wait (bounded) for the answers to what it sent, then close.
                Volatile.Write(ref _clientGone, 1);
                _ = Task.Delay(DrainBound, ct).ContinueWith(_ => Dispose(), TaskScheduler.Default);
                return;
            }

            var body = frame.AsSpan(4);
            if (body.Length < 8)
            {
                throw new FormatException($"request of {body.Length} bytes has no header");
            }

            var apiKey = BinaryPrimitives.ReadInt16BigEndian(body);
            var version = BinaryPrimitives.ReadInt16BigEndian(body[2..]);
            var correlationId = BinaryPrimitives.ReadInt32BigEndian(body[4..]);
            var addSaslApis = false;
            if (_sasl is not null)
            {
                var verdict = _sasl.OnRequest(apiKey, version, correlationId, body, DateTimeOffset.UtcNow);
                switch (verdict.Action)
                {
                    case SaslAction.Close:
                        return;
                    case SaslAction.Answer:
                        // After every answer owed before it, as a broker answers in order.
                        while (Volatile.Read(ref _answersOwed) > 0)
                        {
                            await Task.Delay(1, ct).ConfigureAwait(false);
                        }

                        await SendToClientAsync(verdict.Response!, ct).ConfigureAwait(false);
                        if (verdict.CloseAfter)
                        {
                            return;
                        }

                        continue;
                    case SaslAction.ForwardApiVersions:
                        addSaslApis = true;
                        break;
                }
            }

            _proxy.Transactions.OnRequest(_id, body);
            var txnVerdict = _proxy.TransactionFront?.OnRequest(_broker, apiKey, version, correlationId, body) ?? default;
            if (txnVerdict.Answer is not null || txnVerdict.AnswerLater is not null)
            {
                var answer = txnVerdict.Answer ?? await txnVerdict.AnswerLater!(ct).ConfigureAwait(false);
                _proxy.Transactions.OnResponse(_id, answer.AsSpan(4)); // the front answered as the broker: the oracle sees it too
                await AnswerHereAsync(answer, ct).ConfigureAwait(false);
                continue;
            }

            frame = txnVerdict.Forward ?? frame;

            var addApis = addSaslApis ? SaslWire.SaslApis(_proxy.Sasl!.MaxSaslAuthenticateVersion) : [];
            if (_proxy.Telemetry is { } telemetry)
            {
                if (telemetry.Answer(apiKey, correlationId, body) is { } answer)
                {
                    await AnswerHereAsync(answer, ct).ConfigureAwait(false);
                    continue;
                }

                if (apiKey == SaslWire.ApiVersions)
                {
                    addApis = [.. addApis, .. Telemetry.TelemetryFront.Apis];
                }
            }

            var (drop, close) = _proxy.TakeFaults(apiKey);
            var batches = apiKey == ProduceKey && version >= ProduceCodec.FirstBatchVersion ? ProduceCodec.ReadRequest(body, version) : [];
            // Registered before forwarding: the answer may come back before this loop runs again.
            _pending[correlationId] = new PendingRequest(apiKey, version, batches, drop, close, addApis) { TxnState = txnVerdict.State };
            Interlocked.Increment(ref _answersOwed);
            Outstanding(batches, +1);

            await _broker.WaitWhileStalledAsync(ct).ConfigureAwait(false);
            await _upstream.SendAsync(frame, SocketFlags.None, ct).ConfigureAwait(false);
        }
    }

    private async Task ResponsesAsync(CancellationToken ct)
    {
        while (true)
        {
            var frame = await ReadFrameAsync(_upstream, ct).ConfigureAwait(false);
            if (_proxy.TransactionFront is { } front && frame.Length >= 8
                && _pending.TryGetValue(BinaryPrimitives.ReadInt32BigEndian(frame.AsSpan(4)), out var seen) && seen.TxnState is { } txnState)
            {
                frame = await front.OnResponseAsync(_broker, seen.ApiKey, seen.Version, txnState, frame, ct).ConfigureAwait(false);
            }

            var arrived = Stopwatch.GetTimestamp();
            var body = frame.AsSpan(4);
            if (body.Length < 4)
            {
                throw new FormatException($"response of {body.Length} bytes has no correlation id");
            }

            // Header v0 and v1 (and ApiVersions' v0-only header) all start with the correlation id.
            var correlationId = BinaryPrimitives.ReadInt32BigEndian(body);
            if (!_pending.TryRemove(correlationId, out var request))
            {
                throw new FormatException($"answer with correlation id {correlationId} matches no request");
            }

            // The broker's own answer, before any rewrite below.
            _proxy.Transactions.OnResponse(_id, body);
            if (request.ApiKey == ProduceKey && request.Batches.Count > 0)
            {
                Judge(request, ProduceCodec.ReadResponse(body, request.Version, out var throttleOffset), body);
                if (throttleOffset >= 0 && _proxy.TakeThrottle() is { } throttleMs)
                {
                    BinaryPrimitives.WriteInt32BigEndian(body[throttleOffset..], throttleMs);
                }
            }

            if (request.ApiKey == TxnWire.FindCoordinator)
            {
                TxnWire.GiveANullCoordinatorHostAnEmptyOne(body, request.Version);
            }

            var wait = _broker.Latency - Stopwatch.GetElapsedTime(arrived);
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, ct).ConfigureAwait(false);
            }

            await _broker.WaitWhileStalledAsync(ct).ConfigureAwait(false);
            if (request.CloseOnResponse)
            {
                _proxy.CountClosedConnection();
                return;
            }

            // No longer in flight once its answer is on its way, counted before it is: as soon as the client reads
            // it, it may send the partition's next request, which could otherwise be counted first, one too many.
            Outstanding(request.Batches, -1);
            if (!request.DropResponse && Volatile.Read(ref _clientGone) == 0)
            {
                await SendToClientAsync(request.AddApis.Length > 0 ? SaslWire.AddApis(frame, request.Version, request.AddApis) : frame, ct).ConfigureAwait(false);
            }

            Interlocked.Decrement(ref _answersOwed);

            if (Volatile.Read(ref _clientGone) != 0 && _pending.IsEmpty)
            {
                return; // every answer the gone client was owed is in
            }
        }
    }

    /// <summary>Sends an answer the proxy gives itself, after every answer owed before it, as a broker answers in order.</summary>
    private async Task AnswerHereAsync(byte[] frame, CancellationToken ct)
    {
        while (Volatile.Read(ref _answersOwed) > 0)
        {
            await Task.Delay(1, ct).ConfigureAwait(false);
        }

        await SendToClientAsync(frame, ct).ConfigureAwait(false);
    }

    private async Task SendToClientAsync(byte[] frame, CancellationToken ct)
    {
        await _clientWrite.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            await _client.SendAsync(frame, SocketFlags.None, ct).ConfigureAwait(false);
        }
        finally
        {
            _clientWrite.Release();
        }
    }

    /// <summary>Counts, per partition, the Produce requests the client sent whose answer it has not got yet.</summary>
    private void Outstanding(List<ProducedBatch> batches, int change)
    {
        if (batches.Count == 0)
        {
            return;
        }

        lock (_outstanding)
        {
            foreach (var tp in batches.Select(b => b.TopicPartition).Distinct())
            {
                var n = _outstanding.GetValueOrDefault(tp) + change;
                _outstanding[tp] = n;
                _proxy.ReportProduceInFlight(n);
            }
        }
    }

    /// <summary>Feeds the oracle, and rewrites error codes in <paramref name="body"/> (the answer passed on) as
    /// <see cref="KafkaProxy.EnforceSequenceRules"/> and <see cref="KafkaProxy.RewriteProduceErrors"/> ask.</summary>
    private void Judge(PendingRequest request, List<PartitionAnswer> answers, Span<byte> body)
    {
        var enforce = _proxy.EnforceSequenceRules;
        var rewrite = answers.Count > 0 && answers.All(a => a.ErrorCode == 0) ? _proxy.TakeRewrite() : null;
        foreach (var batch in request.Batches)
        {
            var answer = answers.FindIndex(a => a.Topic == batch.Topic && a.Partition == batch.Partition);
            if (answer < 0)
            {
                _proxy.Oracle.Unanswered(batch, _broker.Id);
                continue;
            }

            var judged = _proxy.Oracle.Apply(batch, answers[answer].ErrorCode, _broker.Id, enforce, answers[answer].BaseOffset);
            var code = rewrite ?? judged.CorrectedTo;
            if (code != 0)
            {
                BinaryPrimitives.WriteInt16BigEndian(body[answers[answer].ErrorCodeOffset..], code);
            }
        }
    }

    /// <summary>Reads one whole frame, its 4-byte size prefix included (so it can be forwarded as is).</summary>
    private static async Task<byte[]> ReadFrameAsync(Socket socket, CancellationToken ct)
    {
        var size = new byte[4];
        await ReceiveExactlyAsync(socket, size, ct).ConfigureAwait(false);
        var length = BinaryPrimitives.ReadInt32BigEndian(size);
        if (length is < 0 or > 256 * 1024 * 1024)
        {
            throw new FormatException($"frame size {length} is not plausible");
        }

        var frame = new byte[4 + length];
        size.CopyTo(frame, 0);
        await ReceiveExactlyAsync(socket, frame.AsMemory(4), ct).ConfigureAwait(false);
        return frame;
    }

    private static async Task ReceiveExactlyAsync(Socket socket, Memory<byte> buffer, CancellationToken ct)
    {
        while (buffer.Length > 0)
        {
            var n = await socket.ReceiveAsync(buffer, SocketFlags.None, ct).ConfigureAwait(false);
            if (n == 0)
            {
                throw new EndOfStreamException();
            }

            buffer = buffer[n..];
        }
    }

    private sealed record PendingRequest(short ApiKey, short Version, List<ProducedBatch> Batches, bool DropResponse, bool CloseOnResponse, (short Key, short Min, short Max)[] AddApis)
    {
        /// <summary>What the <see cref="TransactionFront"/> kept of the request, handed back with its answer.</summary>
        public object? TxnState { get; init; }
    }
}
