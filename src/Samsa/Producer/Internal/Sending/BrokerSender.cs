using Samsa.Diagnostics;
using Samsa.Network;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Producer.Internal;

/// <summary>
/// Sends Produce requests to one broker for every partition it leads. It sleeps until a batch
/// is full, a linger deadline passes, a retry backoff ends, an answer frees a partition or a flush
/// asks, then sends at most one batch per partition per request, with up to
/// <c>max.in.flight.requests.per.connection</c> requests outstanding. A broker that throttles the
/// producer (KIP-219) gets nothing more until its throttle time has passed.
/// </summary>
internal sealed class BrokerSender : IAsyncDisposable
{
    private readonly ProducerEngine _engine;

    // The partitions this sender leads, once each. A drain looks only at the active ones, those that
    // may hold a batch, in a stable order for fairness: with thousands of partitions, most of them idle,
    // a drain per new batch must not cost a pass over all of them. A partition enters the list when it is
    // assigned or gains a batch (Activate) and leaves it when a drain finds it empty. All under _assigned.
    private readonly HashSet<PartitionAccumulator> _assigned = [];
    private readonly List<PartitionAccumulator> _active = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly AsyncSignal _wake;
    private readonly SemaphoreSlim _inFlight;
    private Task _loop = Task.CompletedTask;
    private int _drainStart;
    private long _throttledUntilMs;
    private BrokerTags? _tags;

    // When (MonotonicClock ms) the sleeping loop will look again by itself; long.MaxValue while it is
    // awake or sleeps without a deadline. A batch that cannot be ready before then needs no wake-up:
    // with thousands of partitions at a low rate nearly every record opens a batch, and waking the
    // loop for each would cost a thread-pool hop per record to learn that nothing is due yet.
    private long _wakeAtMs = long.MaxValue;

    public BrokerSender(ProducerEngine engine, BrokerAddress address)
    {
        _engine = engine;
        Address = address;
        _wake = new AsyncSignal(_stop.Token);
        _inFlight = new SemaphoreSlim(engine.Options.MaxInFlightRequestsPerConnection);
    }

    /// <summary>Starts the sending loop (apart from construction, so tests can drive a sender's partitions by hand).</summary>
    public void Start() => _loop = Task.Run(RunAsync);

    /// <summary>Where the broker is; metadata may move it, keeping the node id.</summary>
    public BrokerAddress Address { get; set; }

    // The broker's metric attributes, made again only when metadata moves it.
    private BrokerTags Tags
    {
        get
        {
            var tags = Volatile.Read(ref _tags);
            if (tags is null || tags.Address != Address)
            {
                tags = new BrokerTags(Address);
                Volatile.Write(ref _tags, tags);
            }

            return tags;
        }
    }

    public void Wake() => _wake.Set();

    public void Assign(PartitionAccumulator partition)
    {
        lock (_assigned)
        {
            if (_assigned.Add(partition))
            {
                partition.ListedActive = true;
                _active.Add(partition);
            }
        }

        Wake();
    }

    /// <summary>
    /// The partition gained a batch that may be sent from <paramref name="readyAtMs"/> on (a full batch:
    /// now; a new one: when its linger ends). It goes on the active list unless it is there already, and
    /// the sender wakes unless it will look by then anyway. A call made with a stale
    /// <see cref="PartitionAccumulator.Sender"/> after a move is a no-op; the move listed the partition
    /// with its new sender.
    /// </summary>
    public void Activate(PartitionAccumulator partition, long readyAtMs)
    {
        lock (_assigned)
        {
            if (!partition.ListedActive && _assigned.Contains(partition))
            {
                partition.ListedActive = true;
                _active.Add(partition);
            }
        }

        // Ordered after the list update by the lock: a loop that drained before it has since written
        // long.MaxValue (awake) or the deadline of its sleep, which then ends in time to see the batch.
        if (readyAtMs < Volatile.Read(ref _wakeAtMs))
        {
            Wake();
        }
    }

    /// <summary>Whether the partition is on this sender's list (for tests and diagnostics).</summary>
    internal bool IsAssigned(PartitionAccumulator partition)
    {
        lock (_assigned)
        {
            return _assigned.Contains(partition);
        }
    }

    /// <summary>How many partitions a drain looks at now (for tests and diagnostics).</summary>
    internal int ActiveCount
    {
        get
        {
            lock (_assigned)
            {
                return _active.Count;
            }
        }
    }

    public void Unassign(PartitionAccumulator partition)
    {
        lock (_assigned)
        {
            if (_assigned.Remove(partition) && partition.ListedActive)
            {
                partition.ListedActive = false;
                _active.Remove(partition);
            }
        }
    }

    /// <summary>Stops sending; batches it had taken but not sent are failed as closed.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
        _wake.Dispose();
        _inFlight.Dispose();
    }

    private async Task RunAsync()
    {
        var batches = new List<ProducerBatch>();
        using var frame = new SplicedFrame(64 * 1024);
        var token = _stop.Token;
        try
        {
            while (!token.IsCancellationRequested)
            {
                var now = MonotonicClock.NowMs;
                var throttledUntil = Volatile.Read(ref _throttledUntilMs);
                if (throttledUntil > now)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(throttledUntil - now), token).ConfigureAwait(false);
                    continue;
                }

                if (await GetIdentityAsync(token).ConfigureAwait(false) is not { } identity)
                {
                    continue;
                }

                var nextWake = long.MaxValue;
                Drain(now, identity, batches, ref nextWake);
                if (batches.Count == 0)
                {
                    var sleep = nextWake == long.MaxValue ? Timeout.InfiniteTimeSpan : TimeSpan.FromMilliseconds(Math.Max(1, nextWake - now));
                    Interlocked.Exchange(ref _wakeAtMs, nextWake == long.MaxValue ? long.MaxValue : now + (long)sleep.TotalMilliseconds);
                    await _wake.WaitAsync(sleep).ConfigureAwait(false);
                    Interlocked.Exchange(ref _wakeAtMs, long.MaxValue);
                    continue;
                }

                await _inFlight.WaitAsync(token).ConfigureAwait(false);
                await SendAsync(batches, frame, token).ConfigureAwait(false);
                batches.Clear();
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // Stopping: whatever was drained but not sent goes back to the engine to fail.
            foreach (var batch in batches)
            {
                _engine.OnAttemptFailed(batch, new ProducerClosedException("The producer was disposed before this record was sent."), maybeWritten: false);
            }
        }
    }

    // The idempotent producer's id and epoch, which every batch is stamped with; None when not
    // idempotent; null when it could not be had this time (the loop goes round again).
    private async ValueTask<ProducerIdAndEpoch?> GetIdentityAsync(CancellationToken token)
    {
        if (_engine.Identity is not { } producerIdentity)
        {
            return ProducerIdAndEpoch.None;
        }

        if (_engine.FatalError is not null)
        {
            // Failed for good: nothing goes out any more, and asking for a producer id again would only knock at the
            // brokers (a refused login each time, every retry backoff). Park until disposed.
            await Task.Delay(Timeout.InfiniteTimeSpan, token).ConfigureAwait(false);
        }

        var pending = producerIdentity.GetAsync();
        if (pending.IsCompletedSuccessfully)
        {
            return pending.Result;
        }

        try
        {
            return await pending.WaitAsync(token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is KafkaException or ObjectDisposedException)
        {
            // Without a producer id an idempotent producer can send nothing: a refusal that
            // retrying cannot change (authorization, an unsupported broker) is fatal. Otherwise
            // the batches wait (delivery.timeout.ms still bounds them) and the next pass asks again;
            // a producer being disposed (its connections closed) ends the loop through the token.
            if (e is KafkaException { IsRetriable: false } refusal && !_engine.IsClosed)
            {
                _engine.EnterFatalState(refusal);
            }

            await Task.Delay(_engine.Options.RetryBackoff, token).ConfigureAwait(false);
            return null;
        }
    }

    /// <summary>Takes the batches for one request: at most one per partition, up to max.request.size.</summary>
    internal void Drain(long nowMs, ProducerIdAndEpoch identity, List<ProducerBatch> batches, ref long nextWakeMs)
    {
        var bytesLeft = _engine.Options.MaxRequestSize;
        var transactions = _engine.Transactions;
        lock (_assigned)
        {
            // Start where the last request stopped, so a busy partition cannot starve the others
            // when max.request.size cuts a request short.
            var count = _active.Count;
            var emptied = 0;
            PartitionAccumulator? firstLeftOut = null;
            for (var n = 0; n < count; n++)
            {
                var partition = _active[(_drainStart + n) % count];
                if (!ReferenceEquals(partition.Sender, this))
                {
                    continue;
                }

                // Not yet part of the transaction at the coordinator: it stays listed, and the registration wakes this sender.
                if (transactions is not null && !transactions.MaySend(partition))
                {
                    continue;
                }

                var batch = partition.TryDrain(this, nowMs, identity, bytesLeft, batches.Count == 0, ref nextWakeMs, out var didNotFit);
                if (didNotFit)
                {
                    firstLeftOut ??= partition;
                }

                if (batch is null)
                {
                    // A batch appended after this check finds the flag cleared and lists the partition again.
                    if (!partition.HasBatches)
                    {
                        partition.ListedActive = false;
                        emptied++;
                    }

                    continue;
                }

                batches.Add(batch);
                bytesLeft -= batch.Builder.SizeInBytes;
                if (bytesLeft <= 0)
                {
                    _drainStart = (_drainStart + n + 1) % count;
                    nextWakeMs = nowMs;
                    break;
                }
            }

            if (emptied > 0)
            {
                _active.RemoveAll(static p => !p.ListedActive);
                _drainStart = _active.Count == 0 ? 0 : _drainStart % _active.Count;
            }

            // A batch too large for what was left of this request opens the next one. Otherwise a partition with
            // large (backlogged) batches behind one with small ones would never fit: the small one, first again
            // after every answer, would take each request, and the large backlog would wait for ever.
            if (firstLeftOut is not null)
            {
                _drainStart = Math.Max(0, _active.IndexOf(firstLeftOut));
            }
        }

        // The request groups partitions by topic.
        if (batches.Count > 1)
        {
            batches.Sort(static (a, b) => string.CompareOrdinal(a.Partition.Topic, b.Partition.Topic));
        }
    }

    private async Task SendAsync(List<ProducerBatch> batches, SplicedFrame request, CancellationToken token)
    {
        var options = _engine.Options;
        BrokerConnection connection;
        try
        {
            connection = await _engine.Connections.GetAsync(Address, token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is KafkaException or ObjectDisposedException)
        {
            _engine.Metadata.RequestRefresh();
            GiveBack(batches, e as KafkaException ?? new ProducerClosedException("The producer was disposed before this record was sent."));
            return;
        }

        // Produce v12 (KIP-890) adds the partitions to the transaction itself; it is only sent with transactions version 2.
        var transactions = _engine.Transactions;
        var highest = transactions is { UsesVersion2: true } ? TransactionManager.ProduceVersion2 : ProduceRequest.HighestSupportedVersion;
        var version = connection.Versions.Pick(ApiKey.Produce, ProduceRequestEncoder.LowestVersion, highest);
        if (version < 0)
        {
            GiveBack(batches, new KafkaException(
                $"Broker {Address} supports Produce {connection.Versions.Describe(ApiKey.Produce)}; Samsa needs v{ProduceRequestEncoder.LowestVersion} or later (Kafka 0.11+).",
                ErrorCode.UnsupportedVersion));
            return;
        }

        for (var i = 0; i < batches.Count; i++)
        {
            var batch = batches[i];
            try
            {
                if (batch.Seal(options.CompressionType, _engine.CompressionLevel, _engine.Memory, isTransactional: transactions is not null))
                {
                    _engine.Telemetry.OnBatchSealed(batch, options.CompressionType);
                }
            }
            catch (Exception e)
            {
                // A codec that throws (a bug, an assembly trimmed away) fails this batch alone, for good: unhandled,
                // it stopped this sender, and every record behind it waited for ever.
                batches.RemoveAt(i--);
                _engine.OnAttemptFailed(batch, new KafkaException(
                    $"Could not encode a batch of {batch.Partition} with compression {options.CompressionType}: {e.Message}",
                    innerException: e), maybeWritten: false);
                continue;
            }

            batch.Attempts++;
        }

        if (batches.Count == 0)
        {
            _inFlight.Release();
            return;
        }

        request.Reset(maySplice: connection.CanSplice);
        ProduceRequestEncoder.Write(request, version, _engine.ClientId, options.TransactionalId, (short)options.Acks, (int)options.RequestTimeout.TotalMilliseconds, batches);

        // v12 answers in v11's layout, which is what the decoders know.
        var layoutVersion = Math.Min(version, ProduceRequest.HighestSupportedVersion);
        var tags = Tags;
        var sentAt = _engine.Telemetry.OnRequestSent(tags, batches, out var inFlightCounted);
        if (options.Acks == Acks.None)
        {
            await connection.SendFrameAsync(request, handler: null, layoutVersion, ProduceResponse.ResponseHeaderVersion(layoutVersion)).ConfigureAwait(false);
            _engine.Telemetry.OnRequestCompleted(tags, sentAt, inFlightCounted, error: null);
            _inFlight.Release();
            foreach (var batch in batches)
            {
                if (connection.IsFailed)
                {
                    _engine.OnAttemptFailed(batch, new KafkaNetworkException($"Lost the connection to broker {Address} while sending."), maybeWritten: true);
                }
                else
                {
                    _engine.OnStored(batch, baseOffset: -1, logAppendTimeMs: -1);
                }
            }

            return;
        }

        var inFlight = new InFlightProduce(this, [.. batches], tags, sentAt, inFlightCounted);
        await connection.SendFrameAsync(request, inFlight, layoutVersion, ProduceResponse.ResponseHeaderVersion(layoutVersion)).ConfigureAwait(false);
    }

    /// <summary>Frees the request slot taken for batches that were not sent, and retries or fails them.</summary>
    private void GiveBack(List<ProducerBatch> batches, KafkaException error)
    {
        _inFlight.Release();
        foreach (var batch in batches)
        {
            _engine.OnAttemptFailed(batch, error, maybeWritten: false);
        }
    }

    // KIP-219: the broker answers at once and expects the client to hold back for the throttle time.
    private void OnThrottled(int throttleTimeMs)
    {
        _engine.Telemetry.OnThrottle(Tags, throttleTimeMs);
        if (throttleTimeMs > 0)
        {
            Volatile.Write(ref _throttledUntilMs, MonotonicClock.NowMs + throttleTimeMs);
            _engine.OnThrottled(Address, throttleTimeMs);
        }
    }

    /// <summary>
    /// One Produce request awaiting its answer; completes its batches on the receive loop. The
    /// connection promises one call, answer or failure; the guard makes a second one a no-op anyway,
    /// since completing a batch twice would report its records twice.
    /// </summary>
    private sealed class InFlightProduce(BrokerSender sender, ProducerBatch[] batches, BrokerTags tags, long sentAt, bool inFlightCounted) : IResponseHandler
    {
        private int _completed;

        public void OnResponse(ReadOnlySpan<byte> body, short apiVersion)
        {
            if (Interlocked.Exchange(ref _completed, 1) != 0)
            {
                return;
            }

            sender._engine.Telemetry.OnRequestCompleted(tags, sentAt, inFlightCounted, error: null);
            if (!TryCompleteAllSucceeded(body, apiVersion))
            {
                CompleteFromDecodedResponse(body, apiVersion);
            }

            sender._inFlight.Release();
            sender.Wake();
        }

        public void OnFailure(KafkaException error)
        {
            if (Interlocked.Exchange(ref _completed, 1) != 0)
            {
                return;
            }

            sender._engine.Telemetry.OnRequestCompleted(tags, sentAt, inFlightCounted, error);

            // The request may have reached the broker before the connection failed.
            foreach (var batch in batches)
            {
                sender._engine.OnAttemptFailed(batch, error, maybeWritten: true);
            }

            sender._engine.Metadata.RequestRefresh();
            sender._inFlight.Release();
            sender.Wake();
        }

        // The common case, every partition accepted, read straight from the bytes: no response
        // objects, no strings. Anything else (an error, a record error, an unexpected shape) returns
        // false before completing anything, and the generated decoder takes over.
        private bool TryCompleteAllSucceeded(ReadOnlySpan<byte> body, short version)
        {
            // One request holds a batch per partition the broker leads, hundreds with many partitions;
            // 17 bytes of stack each. A request larger still takes the decoder's path.
            const int MaxFastBatches = 1024;
            if (batches.Length > MaxFastBatches)
            {
                return false;
            }

            Span<long> baseOffsets = stackalloc long[batches.Length];
            Span<long> appendTimes = stackalloc long[batches.Length];
            Span<bool> found = stackalloc bool[batches.Length];
            var expected = 0;
            var flexible = version >= 9;
            var reader = new KafkaReader(body);
            var topicCount = flexible ? reader.ReadCompactArrayLength() : reader.ReadArrayLength();
            for (var t = 0; t < topicCount && !reader.Failed; t++)
            {
                var name = reader.ReadRaw(flexible ? (int)reader.ReadUnsignedVarInt() - 1 : reader.ReadInt16());
                var partitionCount = flexible ? reader.ReadCompactArrayLength() : reader.ReadArrayLength();
                for (var p = 0; p < partitionCount && !reader.Failed; p++)
                {
                    var index = reader.ReadInt32();
                    var errorCode = reader.ReadInt16();
                    var baseOffset = reader.ReadInt64();
                    var appendTime = reader.ReadInt64();
                    if (version >= 5)
                    {
                        reader.ReadInt64(); // log_start_offset
                    }

                    if (version >= 8)
                    {
                        var recordErrors = flexible ? reader.ReadCompactArrayLength() : reader.ReadArrayLength();
                        var errorMessageLength = flexible ? (int)reader.ReadUnsignedVarInt() - 1 : reader.ReadInt16();
                        if (recordErrors > 0 || errorMessageLength >= 0)
                        {
                            return false;
                        }
                    }

                    if (flexible)
                    {
                        reader.SkipTaggedFields();
                    }

                    if (errorCode != 0)
                    {
                        return false;
                    }

                    var i = IndexOf(name, index, expected);
                    expected = i + 1;
                    if (i < 0)
                    {
                        return false;
                    }

                    (baseOffsets[i], appendTimes[i], found[i]) = (baseOffset, appendTime, true);
                }

                if (flexible)
                {
                    reader.SkipTaggedFields();
                }
            }

            var throttleTimeMs = reader.ReadInt32();
            if (reader.Failed || found.Contains(false))
            {
                return false;
            }

            sender.OnThrottled(throttleTimeMs);
            for (var i = 0; i < batches.Length; i++)
            {
                sender._engine.OnStored(batches[i], baseOffsets[i], appendTimes[i]);
            }

            return true;
        }

        // Brokers answer partitions in the order they were asked, so the expected position is tried
        // first; a full search keeps any other order correct.
        private int IndexOf(ReadOnlySpan<byte> topic, int partition, int expected)
        {
            if (expected < batches.Length && batches[expected].Partition is var next
                && next.Partition == partition && topic.SequenceEqual(next.TopicUtf8))
            {
                return expected;
            }

            for (var i = 0; i < batches.Length; i++)
            {
                var p = batches[i].Partition;
                if (p.Partition == partition && topic.SequenceEqual(p.TopicUtf8))
                {
                    return i;
                }
            }

            return -1;
        }

        private void CompleteFromDecodedResponse(ReadOnlySpan<byte> body, short apiVersion)
        {
            var engine = sender._engine;
            var reader = new KafkaReader(body);
            var response = ProduceResponse.Read(ref reader, apiVersion);
            if (reader.Failed)
            {
                var error = new KafkaNetworkException($"Malformed Produce response from broker {sender.Address}: {reader.FailureReason}.");
                foreach (var batch in batches)
                {
                    engine.OnAttemptFailed(batch, error, maybeWritten: true);
                }

                return;
            }

            sender.OnThrottled(response.ThrottleTimeMs);
            foreach (var batch in batches)
            {
                var result = Find(response, batch.Partition);
                if (result is null)
                {
                    engine.OnAttemptFailed(batch, new KafkaNetworkException($"Broker {sender.Address} left {batch.Partition} out of its Produce response."), maybeWritten: true);
                }
                else if (result.ErrorCode == (short)ErrorCode.None)
                {
                    engine.OnStored(batch, result.BaseOffset, result.LogAppendTimeMs);
                }
                else
                {
                    var error = (ErrorCode)result.ErrorCode;
                    if (error is ErrorCode.NotLeaderOrFollower or ErrorCode.FencedLeaderEpoch && result.CurrentLeader.LeaderId >= 0)
                    {
                        // KIP-951: the broker names the new leader, so the retry need not wait for metadata.
                        engine.ApplyLeaderHint(batch.Partition, result.CurrentLeader.LeaderId, result.CurrentLeader.LeaderEpoch, response.NodeEndpoints);
                    }

                    engine.OnBrokerError(batch, error, result.ErrorMessage);
                }
            }
        }

        private static ProduceResponse.PartitionProduceResponse? Find(ProduceResponse response, PartitionAccumulator partition)
        {
            foreach (var topic in response.Responses)
            {
                if (topic.Name != partition.Topic)
                {
                    continue;
                }

                foreach (var p in topic.PartitionResponses)
                {
                    if (p.Index == partition.Partition)
                    {
                        return p;
                    }
                }
            }

            return null;
        }
    }
}
