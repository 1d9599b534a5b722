using System.Runtime.InteropServices;
using Samsa.Diagnostics;
using Samsa.Records;

namespace Samsa.Producer.Internal;

/// <summary>Who is told about one record's outcome (an awaiting caller or a delivery handler), and its telemetry.</summary>
internal readonly struct PendingDelivery(DeliveryPromise? promise, Action<DeliveryReport>? handler, long timestampMs, RecordTelemetry telemetry = default)
{
    public DeliveryPromise? Promise { get; } = promise;

    public Action<DeliveryReport>? Handler { get; } = handler;

    public long TimestampMs { get; } = timestampMs;

    /// <summary>When the call accepted the record (0 if unmeasured) and its "send" span, if sampled.</summary>
    public RecordTelemetry Telemetry { get; } = telemetry;
}

/// <summary>Where a batch is in its partition's life; see <see cref="PartitionAccumulator"/>.</summary>
internal enum BatchState
{
    /// <summary>Never sent: it has no sequence number yet and may still take records if it is the open one.</summary>
    Unsent,

    /// <summary>Handed to a sender, whose request has not been answered yet.</summary>
    InFlight,

    /// <summary>Sent at least once, answered with a retriable failure, waiting to go again.</summary>
    AwaitingRetry,
}

/// <summary>
/// One record batch for one partition, from the first append until every record in it has been
/// reported. It owns the encoded bytes and the list of whom to tell. The engine reuses batch
/// objects (see <see cref="Reuse"/>), so their buffers and lists stop growing once warm.
/// </summary>
/// <remarks>
/// Every field that says where the batch stands (state, sequence, flags) is read and written under
/// its partition's lock; the encoded bytes are touched only by the sender that holds the batch.
/// </remarks>
internal sealed class ProducerBatch(PartitionAccumulator partition, int initialCapacity, long createdTicks, System.Buffers.ArrayPool<byte>? buffers = null, DeliveryChunks? deliveryChunks = null) : IDisposable
{
    private List<FlushWaiter>? _flushWaiters;
    private ProducerIdAndEpoch _sealedIdentity = ProducerIdAndEpoch.None;
    private int _sealedSequence = -1;

    public PartitionAccumulator Partition { get; private set; } = partition;

    public RecordBatchBuilder Builder { get; } = new(initialCapacity, buffers);

    public DeliveryList Deliveries { get; } = new(deliveryChunks ?? new DeliveryChunks(0));

    /// <summary>When the first record went in; linger and delivery.timeout.ms count from here.</summary>
    public long CreatedTicks { get; private set; } = createdTicks;

    public BatchState State { get; set; }

    /// <summary>The producer id and epoch the batch's sequence counts in (None when not idempotent).</summary>
    public ProducerIdAndEpoch Identity { get; set; } = ProducerIdAndEpoch.None;

    /// <summary>The first record's sequence number; -1 until the batch is first drained by an idempotent producer.</summary>
    public int BaseSequence { get; set; } = -1;

    public int LastSequence => BaseSequence < 0 ? -1 : PartitionSequences.Add(BaseSequence, Builder.RecordCount - 1);

    /// <summary>
    /// An attempt ended without a definite answer (the connection failed, the request timed out, or the
    /// leader wrote it but could not replicate it in time): the broker may have stored the batch. Like
    /// franz-go's <c>unsureIfProduced</c>, it stays set until an answer proves either way.
    /// </summary>
    public bool MaybeWritten { get; set; }

    /// <summary>
    /// The sequence was changed while a request with the old one was out. That request's
    /// OUT_OF_ORDER_SEQUENCE_NUMBER is then expected, not a sign of a gap (Java: sequenceHasBeenReset).
    /// </summary>
    public bool SequenceReset { get; set; }

    public int Attempts { get; set; }

    /// <summary>Some record in the batch has a "send" span to end when it is reported.</summary>
    public bool Traced { get; set; }

    /// <summary>A retried batch is not sent again before this time (<c>retry.backoff.ms</c>).</summary>
    public long RetryNotBeforeTicks { get; set; }

    /// <summary>
    /// Bytes it holds against <c>buffer.memory</c>, given back when the batch is reported: its records'
    /// reservations, raised to the arrays it holds once it is closed or encoded (<see cref="CoverHeldArrays"/>).
    /// </summary>
    public int ReservedBytes { get; set; }

    /// <summary>
    /// Raises <see cref="ReservedBytes"/> to the bytes of the arrays the batch holds, when they are more than its
    /// records reserved: a buffer doubled under backlog holds up to twice its records, and a compressed batch
    /// holds its output beside them until it is reported. Called when the batch stops taking records (under
    /// its partition's lock) and when it is encoded (<see cref="Seal"/>); never lowered, so it wakes no waiter.
    /// </summary>
    public void CoverHeldArrays(BufferMemory memory)
    {
        var uncovered = Builder.HeldBytes - ReservedBytes;
        if (uncovered > 0)
        {
            memory.ForceReserve(uncovered);
            ReservedBytes += uncovered;
        }
    }

    /// <summary>The wire bytes, fixed at the first send so that a retry sends the same batch.</summary>
    public ReadOnlyMemory<byte> Sealed { get; private set; }

    /// <summary>
    /// Encodes the batch on its first send (compression, header, CRC). A retry under another producer
    /// epoch or sequence patches only the header (<see cref="RecordBatchBuilder.RewriteProducerState"/>),
    /// so the same records go out byte for byte, never re-compressed. Returns true when it encoded the batch
    /// (a first send, or the first send of a split half); <paramref name="memory"/> then counts the compression
    /// output, held until the batch is reported.
    /// </summary>
    public bool Seal(CompressionType compression, int compressionLevel, BufferMemory memory, bool isTransactional = false)
    {
        var encoded = false;
        if (Sealed.IsEmpty)
        {
            Sealed = Builder.Seal(compression, compressionLevel, Identity.ProducerId, Identity.Epoch, BaseSequence, isTransactional);
            CoverHeldArrays(memory);
            encoded = true;
        }
        else if (Identity != _sealedIdentity || BaseSequence != _sealedSequence)
        {
            RecordBatchBuilder.RewriteProducerState(MemoryMarshal.AsMemory(Sealed).Span, Identity.ProducerId, Identity.Epoch, BaseSequence);
        }

        _sealedIdentity = Identity;
        _sealedSequence = BaseSequence;
        return encoded;
    }

    /// <summary>
    /// Moves the second half of the records (and whom to tell about them) into <paramref name="tail"/>, for
    /// a batch the broker found too large. The bytes are sealed again on the next send. Called under the
    /// partition's lock.
    /// </summary>
    public void SplitInto(ProducerBatch tail)
    {
        var keep = Builder.RecordCount / 2;
        Builder.MoveRecordsTo(tail.Builder, keep);
        Deliveries.MoveTailTo(tail.Deliveries, keep);

        // The reservation follows the bytes, so buffer.memory is given back as each half is reported.
        var tailShare = (int)((long)ReservedBytes * tail.Builder.SizeInBytes / (Builder.SizeInBytes + tail.Builder.SizeInBytes));
        tail.ReservedBytes = tailShare;
        ReservedBytes -= tailShare;
        tail.CreatedTicks = CreatedTicks;
        tail.Attempts = Attempts;
        tail.MaybeWritten = MaybeWritten;
        tail.Traced = Traced;
        foreach (var waiter in _flushWaiters ?? [])
        {
            tail.AddFlushWaiter(waiter);
        }

        Sealed = default;
        _sealedIdentity = ProducerIdAndEpoch.None;
        _sealedSequence = -1;
    }

    /// <summary>Registers a flush that waits for this batch; called under the partition's lock.</summary>
    public void AddFlushWaiter(FlushWaiter waiter)
    {
        (_flushWaiters ??= []).Add(waiter);
        waiter.AddOne();
    }

    /// <summary>Releases every flush waiting on this batch; called once, after the last report.</summary>
    public void ReleaseFlushWaiters()
    {
        List<FlushWaiter>? waiters;
        lock (Partition.Lock)
        {
            waiters = _flushWaiters;
            _flushWaiters = null;
        }

        if (waiters is not null)
        {
            foreach (var waiter in waiters)
            {
                waiter.DoneOne();
            }
        }
    }

    /// <summary>
    /// A reported batch goes to the engine's pool of batches: it drops its references to the records' callers and
    /// gives buffers grown past its standard size back to the buffer pool (see <see cref="RecordBatchBuilder.ReleaseBuffers"/>).
    /// </summary>
    public void Park()
    {
        Deliveries.Clear();
        Sealed = default;
        Builder.ReleaseBuffers();
    }

    /// <summary>Makes a parked batch (its deliveries and sealed bytes already dropped) a new, empty one.</summary>
    public void Reuse(PartitionAccumulator partition, long createdTicks)
    {
        Partition = partition;
        CreatedTicks = createdTicks;
        Builder.Reset();
        _sealedIdentity = ProducerIdAndEpoch.None;
        _sealedSequence = -1;
        State = BatchState.Unsent;
        Identity = ProducerIdAndEpoch.None;
        BaseSequence = -1;
        MaybeWritten = false;
        SequenceReset = false;
        Attempts = 0;
        Traced = false;
        RetryNotBeforeTicks = 0;
        ReservedBytes = 0;
        _flushWaiters = null;
    }

    public override string ToString() => $"{Partition} batch of {Builder.RecordCount} (seq {BaseSequence}, {State})";

    public void Dispose() => Builder.Dispose();
}
