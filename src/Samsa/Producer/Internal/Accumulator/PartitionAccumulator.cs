namespace Samsa.Producer.Internal;

/// <summary>
/// The batches of one partition: the open one that records are appended to, the closed ones
/// waiting for their broker's sender, and retries, which go out before anything newer.
/// Everything here happens under <see cref="Lock"/>, which is held only for short, non-blocking work.
/// </summary>
internal sealed class PartitionAccumulator(string topic, int partition, ProducerEngine engine)
{
    private readonly Queue<ProducerBatch> _ready = new();
    private readonly List<ProducerBatch> _retries = [];
    private readonly List<ProducerBatch> _incomplete = [];
    private ProducerBatch? _open;
    private BrokerSender? _sender;
    private ProducerBatch? _inFlight;
    private int _nextSequence;
    private ProducerIdAndEpoch _sequenceIdentity = ProducerIdAndEpoch.None;

    public object Lock { get; } = new();

    public string Topic { get; } = topic;

    /// <summary>The topic name as it appears on the wire, for matching responses without decoding strings.</summary>
    public byte[] TopicUtf8 { get; } = System.Text.Encoding.UTF8.GetBytes(topic);

    public int Partition { get; } = partition;

    /// <summary>The sender of the partition's current leader; null while the leader is unknown.</summary>
    public BrokerSender? Sender => Volatile.Read(ref _sender);

    /// <summary>
    /// Batches appended but not yet sent (open one included), read without the lock: the adaptive
    /// partitioner (KIP-794) sends fewer records to partitions with longer queues.
    /// </summary>
    public int QueuedBatches => Volatile.Read(ref _queuedBatches);

    /// <summary>
    /// Since when (monotonic ms) the partition has had a batch ready that its leader's sender has not
    /// taken; 0 while it has none. <c>partitioner.availability.timeout.ms</c> reads it.
    /// </summary>
    public long ReadyWaitingSinceMs => Volatile.Read(ref _readyWaitingSinceMs);

    private int _queuedBatches;
    private long _readyWaitingSinceMs;

    /// <summary>Makes <paramref name="leader"/> the partition's sender and returns the previous one.</summary>
    public BrokerSender? SwapSender(BrokerSender? leader) => Interlocked.Exchange(ref _sender, leader);

    /// <summary>
    /// Appends one record, opening a new batch when the open one is full. Returns true when the
    /// sender should look again: a batch was opened (a new linger deadline) or one is full.
    /// </summary>
    public bool Append(long timestampMs, ReadOnlySpan<byte> key, bool keyIsNull, ReadOnlySpan<byte> value, bool valueIsNull, Headers? headers, in PendingDelivery delivery, int reservedBytes)
    {
        var batchSize = engine.Options.BatchSize;
        lock (Lock)
        {
            var wake = false;
            if (_open is null || !_open.Builder.TryAppend(timestampMs, key, keyIsNull, value, valueIsNull, headers, batchSize))
            {
                if (_open is not null)
                {
                    _ready.Enqueue(_open);
                }

                _open = engine.NewBatch(this);
                _incomplete.Add(_open);
                _queuedBatches++;
                _open.Builder.TryAppend(timestampMs, key, keyIsNull, value, valueIsNull, headers, batchSize);
                wake = true;
            }

            _open.Deliveries.Add(delivery);
            _open.ReservedBytes += reservedBytes;
            if (_open.Builder.SizeInBytes >= batchSize)
            {
                if (_readyWaitingSinceMs == 0)
                {
                    _readyWaitingSinceMs = MonotonicClock.NowMs;
                }

                _ready.Enqueue(_open);
                _open = null;
                wake = true;
            }

            return wake;
        }
    }

    /// <summary>
    /// Takes the next batch that may be sent now, if it fits in <paramref name="bytesLeft"/>
    /// (a first batch always fits). Otherwise lowers <paramref name="nextWakeMs"/> to when one will be.
    /// </summary>
    public ProducerBatch? TryDrain(long nowMs, int bytesLeft, bool isFirstInRequest, ref long nextWakeMs)
    {
        lock (Lock)
        {
            // One batch of a partition in flight at a time when order must hold: a later batch sent
            // while an earlier one may still fail and be retried could be stored before it. The
            // batch's answer wakes the sender again (see OnAnswered).
            if (_inFlight is not null)
            {
                return null;
            }

            ProducerBatch? candidate = null;
            if (_retries.Count > 0)
            {
                candidate = _retries[0];
                if (candidate.RetryNotBeforeTicks > nowMs)
                {
                    nextWakeMs = Math.Min(nextWakeMs, candidate.RetryNotBeforeTicks);
                    return null;
                }
            }
            else if (_ready.Count > 0)
            {
                candidate = _ready.Peek();
            }
            else if (_open is not null)
            {
                var deadline = _open.CreatedTicks + (long)engine.Options.Linger.TotalMilliseconds;
                if (deadline > nowMs)
                {
                    nextWakeMs = Math.Min(nextWakeMs, deadline);
                    return null;
                }

                candidate = _open;
            }

            if (candidate is null || (!isFirstInRequest && candidate.Builder.SizeInBytes > bytesLeft))
            {
                return null;
            }

            if (_retries.Count > 0)
            {
                _retries.RemoveAt(0);
            }
            else if (_ready.Count > 0)
            {
                _ready.Dequeue();
                _queuedBatches--;
            }
            else
            {
                _open = null;
                _queuedBatches--;
            }

            _readyWaitingSinceMs = 0;

            if (engine.Options.EnableIdempotence || engine.Options.MaxInFlightRequestsPerConnection == 1)
            {
                _inFlight = candidate;
            }

            return candidate;
        }
    }

    /// <summary>
    /// Reserves <paramref name="count"/> sequence numbers for a batch of an idempotent producer.
    /// Sequences wrap from int.MaxValue to 0, as the broker expects.
    /// </summary>
    public int TakeSequences(int count, ProducerIdAndEpoch identity)
    {
        lock (Lock)
        {
            // Sequences count per producer id and epoch: a new epoch starts again from 0.
            if (identity != _sequenceIdentity)
            {
                _sequenceIdentity = identity;
                _nextSequence = 0;
            }

            var first = _nextSequence;
            _nextSequence = (int)(((long)first + count) % ((long)int.MaxValue + 1));
            return first;
        }
    }

    /// <summary>The broker answered for this batch (or it failed): the partition may send its next one.</summary>
    public void OnAnswered(ProducerBatch batch)
    {
        lock (Lock)
        {
            if (ReferenceEquals(_inFlight, batch))
            {
                _inFlight = null;
            }
        }
    }

    /// <summary>Puts a batch that failed retriably back at the head, in its original order.</summary>
    public void Requeue(ProducerBatch batch, long notBeforeMs)
    {
        lock (Lock)
        {
            if (ReferenceEquals(_inFlight, batch))
            {
                _inFlight = null;
            }

            batch.RetryNotBeforeTicks = notBeforeMs;
            var index = _retries.FindIndex(b => b.CreatedTicks > batch.CreatedTicks);
            _retries.Insert(index < 0 ? _retries.Count : index, batch);
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
                _ready.Enqueue(_open);
                _open = null;
            }

            foreach (var batch in _incomplete)
            {
                batch.AddFlushWaiter(waiter);
            }

            return _incomplete.Count > 0;
        }
    }

    /// <summary>Forgets a batch whose records have all been reported.</summary>
    public void Remove(ProducerBatch batch)
    {
        lock (Lock)
        {
            _incomplete.Remove(batch);
        }
    }

    /// <summary>True while any batch of this partition has not been reported.</summary>
    public bool HasIncomplete
    {
        get
        {
            lock (Lock)
            {
                return _incomplete.Count > 0;
            }
        }
    }

    /// <summary>
    /// Takes the unsent batches that have outlived <c>delivery.timeout.ms</c> (a partition with no
    /// leader, or one whose broker is down); batches in flight are bounded by the request timeout.
    /// </summary>
    public List<ProducerBatch>? TakeExpired(long expiredBeforeMs)
    {
        List<ProducerBatch>? expired = null;
        lock (Lock)
        {
            for (var i = _retries.Count - 1; i >= 0; i--)
            {
                if (_retries[i].CreatedTicks < expiredBeforeMs)
                {
                    (expired ??= []).Add(_retries[i]);
                    _retries.RemoveAt(i);
                }
            }

            while (_ready.TryPeek(out var oldest) && oldest.CreatedTicks < expiredBeforeMs)
            {
                (expired ??= []).Add(_ready.Dequeue());
            }

            if (_ready.Count == 0 && _open is not null && _open.CreatedTicks < expiredBeforeMs)
            {
                (expired ??= []).Add(_open);
                _open = null;
            }
        }

        return expired;
    }

    /// <summary>Takes every batch not yet sent, for failing them at shutdown.</summary>
    public List<ProducerBatch> TakeUnsent()
    {
        lock (Lock)
        {
            var unsent = new List<ProducerBatch>(_retries);
            unsent.AddRange(_ready);
            if (_open is not null)
            {
                unsent.Add(_open);
            }

            _retries.Clear();
            _ready.Clear();
            _open = null;
            return unsent;
        }
    }

    public override string ToString() => $"{Topic}[{Partition}]";
}
