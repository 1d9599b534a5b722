namespace Samsa.Producer.Internal;

/// <summary>
/// Whom to tell about each record of one batch, in append order, held in fixed chunks of <see cref="ChunkLength"/>
/// entries from the producer's <see cref="DeliveryChunks"/>.
/// </summary>
/// <remarks>
/// A batch grown under backlog holds thousands of records. A <see cref="List{T}"/> doubled its array to get there,
/// and every array it outgrew above 85 KB was garbage on the large object heap, which only a full collection frees:
/// the largest part of what the producer allocated, and of the resident memory the process kept. Chunks are never
/// copied and go back to the shared store when the batch is done. The first chunk stays with the batch, so a batch
/// of up to <see cref="ChunkLength"/> records never touches the store.
/// </remarks>
internal sealed class DeliveryList(DeliveryChunks store)
{
    public const int ChunkLength = 1 << ChunkShift;

    private const int ChunkShift = 8;
    private const int ChunkMask = ChunkLength - 1;

    private readonly List<PendingDelivery[]> _chunks = [store.Rent()];

    public int Count { get; private set; }

    public ref readonly PendingDelivery this[int index]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)Count, nameof(index));
            return ref _chunks[index >> ChunkShift][index & ChunkMask];
        }
    }

    public void Add(in PendingDelivery delivery)
    {
        var chunk = Count >> ChunkShift;
        if (chunk == _chunks.Count)
        {
            _chunks.Add(store.Rent());
        }

        _chunks[chunk][Count & ChunkMask] = delivery;
        Count++;
    }

    /// <summary>Moves the entries from <paramref name="keep"/> on to the end of <paramref name="tail"/> (a batch split in two).</summary>
    public void MoveTailTo(DeliveryList tail, int keep)
    {
        for (var i = keep; i < Count; i++)
        {
            tail.Add(this[i]);
        }

        Truncate(keep);
    }

    /// <summary>Empties the list, dropping its references to the callers, and gives back all chunks but the first.</summary>
    public void Clear() => Truncate(0);

    private void Truncate(int count)
    {
        for (var chunk = _chunks.Count - 1; chunk >= 0; chunk--)
        {
            var first = chunk << ChunkShift;
            if (first + ChunkLength <= count)
            {
                break;
            }

            var from = Math.Max(count - first, 0);
            var to = Math.Min(Count - first, ChunkLength);
            if (to > from)
            {
                Array.Clear(_chunks[chunk], from, to - from);
            }

            if (from == 0 && chunk > 0)
            {
                store.Return(_chunks[chunk]);
                _chunks.RemoveAt(chunk);
            }
        }

        Count = count;
    }
}

/// <summary>
/// The chunks of one producer's <see cref="DeliveryList"/>s: kept for reuse up to what records of about 100 bytes
/// filling <c>buffer.memory</c> would need, the rest left to the GC.
/// </summary>
internal sealed class DeliveryChunks(long bufferMemory)
{
    private readonly int _kept = (int)Math.Clamp(bufferMemory / (100L * DeliveryList.ChunkLength), 16, 1 << 16);
    private readonly Stack<PendingDelivery[]> _free = new();
    private readonly object _lock = new();

    public PendingDelivery[] Rent()
    {
        lock (_lock)
        {
            if (_free.TryPop(out var chunk))
            {
                return chunk;
            }
        }

        return new PendingDelivery[DeliveryList.ChunkLength];
    }

    /// <summary>Takes back a chunk whose entries are already cleared.</summary>
    public void Return(PendingDelivery[] chunk)
    {
        lock (_lock)
        {
            if (_free.Count < _kept)
            {
                _free.Push(chunk);
            }
        }
    }
}
