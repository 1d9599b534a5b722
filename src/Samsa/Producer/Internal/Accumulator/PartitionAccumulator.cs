using System.Runtime.InteropServices;

namespace Samsa.Producer.Internal;

/// <summary>
/// The batches of one partition, in one ordered list from the oldest unreported batch to the open
/// one that records are appended to, with a drain cursor between those sent and those never sent
/// (after franz-go's <c>recBuf</c>). Sent batches keep their sequence order: a retry is the same
/// batch going out again, not a move to another queue. Batches answered but not yet reported wait
/// in a second list, so that a flush still sees them.
/// </summary>
/// <remarks>
/// Everything here happens under <see cref="Lock"/>, which is held only for short, non-blocking work.
/// A partition's batches in flight are all on one sender: a new leader's sender takes the partition
/// only once the old one's requests are answered, so two requests can never carry the same partition
/// out of order.
/// </remarks>
internal sealed class PartitionAccumulator(string topic, int partition, ProducerEngine engine)
{
    private readonly List<ProducerBatch> _batches = [];
    private readonly List<ProducerBatch> _answered = [];
    private readonly PartitionSequences _sequences = new();

    // Taken before a sender's partition list, never inside the partition's Lock (a sender holds its
    // list's lock while it drains, and draining takes Lock).
    private readonly object _moveLock = new();
    private int _sentCount;
    private ProducerBatch? _open;
    private BrokerSender? _sender;
    private BrokerSender? _inFlightSender;
    private int _inFlightCount;
    private long _readyWaitingSinceMs;

    public object Lock { get; } = new();

    /// <summary>
    /// The transaction (its number, see <see cref="TransactionManager"/>) in which this partition last got a record;
    /// fields, read with Volatile: the produce path compares them once per record.
    /// </summary>
    public int TransactionRequested;

    /// <summary>The transaction in which the coordinator last confirmed this partition (AddPartitionsToTxn): its batches may go.</summary>
    public int TransactionAdded;

    public string Topic { get; } = topic;

    /// <summary>The topic name as it appears on the wire, for matching responses without decoding strings.</summary>
    public byte[] TopicUtf8 { get; } = System.Text.Encoding.UTF8.GetBytes(topic);

    public int Partition { get; } = partition;

    /// <summary>The partition number as text, for the <c>messaging.destination.partition.id</c> attribute (made once, not per batch).</summary>
    public string PartitionId { get; } = partition.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The sender of the partition's current leader; null while the leader is unknown.</summary>
    public BrokerSender? Sender => Volatile.Read(ref _sender);

    /// <summary>
    /// Batches appended but not yet sent (open one included), read without the lock: the adaptive
    /// partitioner (KIP-794) sends fewer records to partitions with longer queues.
    /// </summary>
    /// <remarks>Read without the lock, so it may be a moment old: an estimate is all the partitioner needs.</remarks>
    public int QueuedBatches => _batches.Count - Volatile.Read(ref _sentCount);

    /// <summary>
    /// Since when (monotonic ms) the partition has had a batch ready that its leader's sender has not
    /// taken; 0 while it has none. <c>partitioner.availability.timeout.ms</c> reads it.
    /// </summary>
    public long ReadyWaitingSinceMs => Volatile.Read(ref _readyWaitingSinceMs);

    /// <summary>The sequence state, for tests and diagnostics; read it under <see cref="Lock"/>.</summary>
    internal PartitionSequences Sequences => _sequences;

    /// <summary>The unanswered batches in order, for tests and diagnostics; read it under <see cref="Lock"/>.</summary>
    internal IReadOnlyList<ProducerBatch> Batches => _batches;

    /// <summary>
    /// Makes <paramref name="leader"/> the partition's sender. Metadata updates and leader hints (on a
    /// receive loop) may move a partition at the same moment; the move lock makes each move whole, so
    /// the partition is always registered with exactly the sender <see cref="Sender"/> names.
    /// </summary>
    public void MoveTo(BrokerSender? leader)
    {
        lock (_moveLock)
        {
            var previous = _sender;
            if (ReferenceEquals(previous, leader))
            {
                return;
            }

            Volatile.Write(ref _sender, leader);
            previous?.Unassign(this);
            leader?.Assign(this);
        }
    }

    /// <summary>
    /// Whether the partition is on its sender's active list (<see cref="BrokerSender.Activate"/>); read and
    /// written only under that sender's lock.
    /// </summary>
    public bool ListedActive { get; set; }

    /// <summary>True while the partition holds a batch that is not answered yet: something to send or wait for.</summary>
    public bool HasBatches
    {
        get
        {
            lock (Lock)
            {
                return _batches.Count > 0;
            }
        }
    }

    /// <summary>True while any batch of this partition has not been reported.</summary>
    public bool HasIncomplete
    {
        get
        {
            lock (Lock)
            {
                return _batches.Count + _answered.Count > 0;
            }
        }
    }

    private Span<ProducerBatch> Sent => CollectionsMarshal.AsSpan(_batches)[.._sentCount];

    /// <summary>
    /// Appends one record, opening a new batch when the open one is full. Returns true when the
    /// sender should look again: a batch was opened or one is full; <paramref name="readyAtMs"/> then
    /// says from when it may go (now for a full batch, the end of its linger for a new one).
    /// </summary>
    /// <remarks>
    /// A batch is full at <c>batch.size</c>, as in Java, except under backlog: while the partition
    /// already has as many batches in flight as it may, or full batches queued, the open batch would
    /// wait anyway, and keeps growing up to <see cref="ProducerEngine.BacklogBatchLimit"/>. Small batches gain nothing
    /// there: each waits for a round trip anyway, and one large batch moves the same records in one
    /// slot (KIP-782 discusses the same idea; librdkafka and franz-go default to 1 MB batches).
    /// </remarks>
    public bool Append(long timestampMs, ReadOnlySpan<byte> key, bool keyIsNull, ReadOnlySpan<byte> value, bool valueIsNull, Headers? headers, in PendingDelivery delivery, int reservedBytes, out long readyAtMs)
    {
        var extraHeaders = delivery.Telemetry.ExtraHeaders;
        lock (Lock)
        {
            var limit = IsBacklogged ? engine.BacklogBatchLimit : engine.Options.BatchSize;
            var wake = false;
            if (_open is null || !_open.Builder.TryAppend(timestampMs, key, keyIsNull, value, valueIsNull, headers, limit, extraHeaders))
            {
                if (_open is not null)
                {
                    CloseOpen();
                }

                _open = engine.NewBatch(this);
                _batches.Add(_open);
                _open.Builder.TryAppend(timestampMs, key, keyIsNull, value, valueIsNull, headers, limit, extraHeaders);
                wake = true;
            }

            _open.Deliveries.Add(delivery);
            if (delivery.Telemetry.Trace is not null)
            {
                _open.Traced = true;
            }

            _open.ReservedBytes += reservedBytes;
            readyAtMs = _open.CreatedTicks + (long)engine.Options.Linger.TotalMilliseconds;
            if (_open.Builder.SizeInBytes >= limit)
            {
                CloseOpen();
                readyAtMs = 0;
                wake = true;
            }

            return wake;
        }
    }

    // The open batch would not go now anyway: the partition's in-flight slots are all taken, or full
    // batches are already queued ahead of it. Under a sustained load that queue never empties, so
    // waiting for it to would keep every batch at batch.size. (Counting the broker's request slots too,
    // shared by all its partitions, let hundreds of partitions grow large batches at once: buffer.memory
    // filled with half-full batches, and 1000 B records to 300 partitions went 30% slower.)
    private bool IsBacklogged =>
        _open is not null
        && (_inFlightCount >= engine.Options.MaxInFlightRequestsPerConnection || _sentCount < _batches.Count - 1);

    /// <summary>
    /// Takes the next batch this sender may send now, if it fits in <paramref name="bytesLeft"/> (a
    /// first batch always fits), and marks it in flight. Otherwise lowers <paramref name="nextWakeMs"/>
    /// to when one will be ready; a batch waiting for an answer is woken by that answer instead.
    /// <paramref name="didNotFit"/>: a batch was ready but larger than <paramref name="bytesLeft"/>.
    /// </summary>
    public ProducerBatch? TryDrain(BrokerSender sender, long nowMs, ProducerIdAndEpoch identity, int bytesLeft, bool isFirstInRequest, ref long nextWakeMs, out bool didNotFit)
    {
        didNotFit = false;
        var idempotent = identity.ProducerId >= 0;
        lock (Lock)
        {
            // The sender that sent a batch keeps the partition until it is answered.
            if (_inFlightCount > 0 && !ReferenceEquals(_inFlightSender, sender))
            {
                return null;
            }

            if (idempotent)
            {
                PrepareSequences(identity, nowMs, ref nextWakeMs);
            }

            var candidate = FirstAwaitingRetry();
            var isNew = candidate is null;
            if (candidate is not null)
            {
                if ((idempotent && !_sequences.MayRetry(candidate, Sent)) || (!idempotent && MustKeepOrder && _inFlightCount > 0))
                {
                    return null;
                }

                if (candidate.RetryNotBeforeTicks > nowMs)
                {
                    nextWakeMs = Math.Min(nextWakeMs, candidate.RetryNotBeforeTicks);
                    return null;
                }
            }
            else
            {
                if (_sentCount == _batches.Count
                    || _inFlightCount >= engine.Options.MaxInFlightRequestsPerConnection
                    || (idempotent && !_sequences.MayStartNewBatch(identity)))
                {
                    return null;
                }

                candidate = _batches[_sentCount];
                if (ReferenceEquals(candidate, _open) && candidate.Builder.SizeInBytes < engine.Options.BatchSize)
                {
                    var deadline = candidate.CreatedTicks + (long)engine.Options.Linger.TotalMilliseconds;
                    if (deadline > nowMs)
                    {
                        nextWakeMs = Math.Min(nextWakeMs, deadline);
                        return null;
                    }
                }
            }

            if (!isFirstInRequest && candidate.Builder.SizeInBytes > bytesLeft)
            {
                didNotFit = true;
                return null;
            }

            if (isNew)
            {
                if (ReferenceEquals(candidate, _open))
                {
                    _open.CoverHeldArrays(engine.Memory);
                    _open = null;
                }

                if (idempotent)
                {
                    _sequences.Stamp(candidate);
                }

                _sentCount++;
                _readyWaitingSinceMs = _sentCount < _batches.Count && !ReferenceEquals(_batches[_sentCount], _open) ? nowMs : 0;
            }

            candidate.State = BatchState.InFlight;
            candidate.SequenceReset = false;
            _inFlightCount++;
            _inFlightSender = sender;
            return candidate;
        }
    }

    // Without idempotence, only max.in.flight.requests.per.connection=1 promises order under retries.
    private bool MustKeepOrder => engine.Options.MaxInFlightRequestsPerConnection == 1;

    // Runs the sequence rules that need no answer: settle a doubt nobody can answer any more, ask for
    // the bump the partition needs, and move to the producer's current epoch once that is safe.
    private void PrepareSequences(ProducerIdAndEpoch identity, long nowMs, ref long nextWakeMs)
    {
        if (_sentCount == 0)
        {
            _sequences.ResolveWhenIdle();
        }

        if (_sequences.BumpRequested && _sequences.Identity == identity)
        {
            // The sender picks the new epoch up on its next pass.
            engine.Identity!.RequestBump(identity);
            nextWakeMs = Math.Min(nextWakeMs, nowMs + 1);
        }

        _sequences.CatchUp(identity, Sent);
    }

    private ProducerBatch? FirstAwaitingRetry()
    {
        foreach (var batch in Sent)
        {
            if (batch.State == BatchState.AwaitingRetry)
            {
                return batch;
            }
        }

        return null;
    }

    /// <summary>The broker stored the batch (or already had it): it leaves the partition's list to be reported.</summary>
    public void OnStored(ProducerBatch batch)
    {
        lock (Lock)
        {
            _sequences.OnStored(batch);
            LeaveInFlight(batch);
            RemoveAnswered(batch);
        }
    }

    /// <summary>
    /// An attempt failed. Decides, with the sequence rules for an idempotent batch, whether it goes
    /// again (<paramref name="mayRetry"/> says whether the producer's limits allow that at all) and
    /// updates the partition: a retried batch keeps its place and sequence, a failed one leaves it.
    /// </summary>
    public RetryVerdict OnAttemptFailed(ProducerBatch batch, KafkaException error, bool maybeWritten, bool mayRetry, long retryNotBeforeMs)
    {
        lock (Lock)
        {
            LeaveInFlight(batch);
            batch.MaybeWritten |= maybeWritten;
            var verdict = batch.BaseSequence >= 0 && IsSequenceError(error)
                ? _sequences.OnSequenceError(batch, error.ErrorCode, Sent)
                : error.IsRetriable ? RetryVerdict.Retry : RetryVerdict.Fail;
            if (!mayRetry)
            {
                verdict = RetryVerdict.Fail;
            }

            if (verdict == RetryVerdict.Fail)
            {
                RemoveFailed(batch);
            }
            else
            {
                batch.State = BatchState.AwaitingRetry;
                batch.RetryNotBeforeTicks = retryNotBeforeMs;
            }

            return verdict;
        }
    }

    /// <summary>Sequence errors an idempotent producer recovers from whatever the error table says.</summary>
    public static bool IsSequenceError(KafkaException error) =>
        error is KafkaBrokerException && error.ErrorCode is ErrorCode.OutOfOrderSequenceNumber or ErrorCode.UnknownProducerId or ErrorCode.InvalidProducerEpoch;

    /// <summary>
    /// The broker refused the batch as too large: its records go again as two batches in its place,
    /// in order, the second taking the sequences after the first (Java: <c>splitAndReenqueue</c>).
    /// </summary>
    public void SplitTooLarge(ProducerBatch batch, long retryNotBeforeMs)
    {
        lock (Lock)
        {
            LeaveInFlight(batch);
            var tail = engine.NewBatch(this);
            batch.SplitInto(tail);
            var index = _batches.IndexOf(batch);
            _batches.Insert(index + 1, tail);
            batch.State = BatchState.AwaitingRetry;
            batch.RetryNotBeforeTicks = retryNotBeforeMs;
            if (batch.BaseSequence >= 0)
            {
                tail.Identity = batch.Identity;
                tail.BaseSequence = PartitionSequences.Add(batch.BaseSequence, batch.Builder.RecordCount);
            }

            tail.State = BatchState.AwaitingRetry;
            tail.RetryNotBeforeTicks = retryNotBeforeMs;
            _sentCount++;
        }
    }

    /// <summary>
    /// Makes everything appended so far sendable at once, and registers the flush with every
    /// batch not yet reported. Returns true if there is anything to wait for.
    /// </summary>
    public bool BeginFlush(FlushWaiter waiter)
    {
        lock (Lock)
        {
            if (_open is not null)
            {
                CloseOpen();
            }

            foreach (var batch in _batches)
            {
                batch.AddFlushWaiter(waiter);
            }

            foreach (var batch in _answered)
            {
                batch.AddFlushWaiter(waiter);
            }

            return _batches.Count + _answered.Count > 0;
        }
    }

    /// <summary>Records appended and not reported yet (the <c>samsa.producer.records.queued</c> gauge; read when a listener collects).</summary>
    public int QueuedRecords
    {
        get
        {
            lock (Lock)
            {
                var count = 0;
                foreach (var batch in _batches)
                {
                    count += batch.Builder.RecordCount;
                }

                foreach (var batch in _answered)
                {
                    count += batch.Builder.RecordCount;
                }

                return count;
            }
        }
    }

    /// <summary>Forgets a batch whose records have all been reported.</summary>
    public void Reported(ProducerBatch batch)
    {
        lock (Lock)
        {
            _answered.Remove(batch);
        }
    }

    /// <summary>
    /// Takes the batches not in flight that have outlived <c>delivery.timeout.ms</c> (a partition with no
    /// leader, a broker down, a batch retried too long), applying the sequence rules to each.
    /// </summary>
    public List<ProducerBatch>? TakeExpired(long expiredBeforeMs)
    {
        List<ProducerBatch>? expired = null;
        lock (Lock)
        {
            for (var i = 0; i < _batches.Count;)
            {
                var batch = _batches[i];
                if (batch.State == BatchState.InFlight || batch.CreatedTicks >= expiredBeforeMs)
                {
                    i++;
                    continue;
                }

                RemoveFailed(batch);
                (expired ??= []).Add(batch);
            }
        }

        return expired;
    }

    /// <summary>Takes every batch not in flight, for failing them at shutdown or in the fatal state.</summary>
    public List<ProducerBatch> TakeUnsent()
    {
        var taken = new List<ProducerBatch>();
        lock (Lock)
        {
            for (var i = 0; i < _batches.Count;)
            {
                if (_batches[i].State == BatchState.InFlight)
                {
                    i++;
                    continue;
                }

                taken.Add(_batches[i]);
                RemoveFailed(_batches[i]);
            }
        }

        return taken;
    }

    public override string ToString() => $"{Topic}[{Partition}]";

    private void LeaveInFlight(ProducerBatch batch)
    {
        if (batch.State != BatchState.InFlight)
        {
            return;
        }

        if (--_inFlightCount == 0)
        {
            _inFlightSender = null;
        }
    }

    // Moves a batch that is done with (stored or failed) from the list to those awaiting their report.
    private void RemoveAnswered(ProducerBatch batch)
    {
        var index = _batches.IndexOf(batch);
        _batches.RemoveAt(index);
        if (index < _sentCount)
        {
            _sentCount--;
        }
        else if (ReferenceEquals(batch, _open))
        {
            _open = null;
        }

        _answered.Add(batch);
    }

    private void RemoveFailed(ProducerBatch batch)
    {
        LeaveInFlight(batch);
        var wasSent = batch.BaseSequence >= 0;
        RemoveAnswered(batch);
        if (wasSent)
        {
            _sequences.OnFailed(batch, Sent);
        }
    }

    // The open batch takes no more records: from now on buffer.memory counts the arrays it holds, not only its records.
    private void CloseOpen()
    {
        _open!.CoverHeldArrays(engine.Memory);
        _open = null;
        MarkReadyWaiting();
    }

    private void MarkReadyWaiting()
    {
        if (_readyWaitingSinceMs == 0)
        {
            _readyWaitingSinceMs = MonotonicClock.NowMs;
        }
    }
}
