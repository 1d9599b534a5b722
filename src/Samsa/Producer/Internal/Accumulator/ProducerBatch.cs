using System.Runtime.InteropServices;
using Samsa.Records;

namespace Samsa.Producer.Internal;

/// <summary>Who is told about one record's outcome: an awaiting caller or a delivery handler.</summary>
internal readonly struct PendingDelivery(DeliveryPromise? promise, Action<DeliveryReport>? handler, long timestampMs)
{
    public DeliveryPromise? Promise { get; } = promise;

    public Action<DeliveryReport>? Handler { get; } = handler;

    public long TimestampMs { get; } = timestampMs;
}

/// <summary>
/// One record batch for one partition, from the first append until every record in it has been
/// reported. It owns the encoded bytes and the list of whom to tell. The engine reuses batch
/// objects (see <see cref="Reuse"/>), so their buffers and lists stop growing once warm.
/// </summary>
internal sealed class ProducerBatch(PartitionAccumulator partition, int initialCapacity, long createdTicks) : IDisposable
{
    private List<FlushWaiter>? _flushWaiters;

    public PartitionAccumulator Partition { get; private set; } = partition;

    public RecordBatchBuilder Builder { get; } = new(initialCapacity);

    // Sized for records of about 100 bytes, so a typical batch never regrows its list.
    public List<PendingDelivery> Deliveries { get; } = new(Math.Max(16, initialCapacity / 100));

    /// <summary>When the first record went in; linger counts from here.</summary>
    public long CreatedTicks { get; private set; } = createdTicks;

    /// <summary>The wire bytes, fixed at the first send so that a retry sends the same batch.</summary>
    public ReadOnlyMemory<byte> Sealed { get; private set; }

    public bool IsSealed { get; private set; }

    public int Attempts { get; set; }

    /// <summary>A retried batch is not sent again before this time (<c>retry.backoff.ms</c>).</summary>
    public long RetryNotBeforeTicks { get; set; }

    /// <summary>Bytes its records hold against <c>buffer.memory</c>, given back when the batch is reported.</summary>
    public int ReservedBytes { get; set; }

    /// <summary>
    /// Encodes the batch on its first send. An idempotent producer stamps its id and epoch and
    /// takes the partition's next sequence numbers here, so sequences follow send order.
    /// </summary>
    public void Seal(CompressionType compression, int compressionLevel, ProducerIdAndEpoch identity)
    {
        if (!IsSealed)
        {
            var baseSequence = identity.ProducerId >= 0 ? Partition.TakeSequences(Builder.RecordCount, identity) : -1;
            Sealed = Builder.Seal(compression, compressionLevel, identity.ProducerId, identity.Epoch, baseSequence, isTransactional: false);
            SealedIdentity = identity;
            IsSealed = true;
        }
        else if (identity != SealedIdentity)
        {
            // A retry after an epoch bump: same records, new epoch, new sequences; no re-compression.
            var baseSequence = Partition.TakeSequences(Builder.RecordCount, identity);
            RecordBatchBuilder.RewriteProducerState(MemoryMarshal.AsMemory(Sealed).Span, identity.ProducerId, identity.Epoch, baseSequence);
            SealedIdentity = identity;
        }
    }

    /// <summary>The producer id and epoch the sealed bytes carry.</summary>
    public ProducerIdAndEpoch SealedIdentity { get; private set; } = ProducerIdAndEpoch.None;

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

    /// <summary>Makes a reported batch a new, empty one, keeping its buffers.</summary>
    public void Reuse(PartitionAccumulator partition, long createdTicks)
    {
        Partition = partition;
        CreatedTicks = createdTicks;
        Builder.Reset();
        Deliveries.Clear();
        Sealed = default;
        IsSealed = false;
        SealedIdentity = ProducerIdAndEpoch.None;
        Attempts = 0;
        RetryNotBeforeTicks = 0;
        ReservedBytes = 0;
        _flushWaiters = null;
    }

    public void Dispose() => Builder.Dispose();
}
