using System.Buffers;
using System.Numerics;

namespace Samsa.Producer.Internal;

/// <summary>
/// The arrays one producer's records are held in (batch buffers, compression outputs, the chunks of records that
/// wait), kept for reuse up to <c>buffer.memory</c> in total. A pooled batch keeps its standard-size buffers itself.
/// </summary>
/// <remarks>
/// <see cref="ArrayPool{T}.Shared"/> keeps only a few dozen arrays of each size per core. A producer with
/// hundreds of partitions returns more batch buffers than that at once (a response completes many batches),
/// so the shared pool drops them and the next batches allocate: large arrays, on the large object heap, whose
/// collections are the expensive ones. This pool keeps whatever it is given, by power-of-two size, until
/// the arrays it holds reach <c>retainedLimit</c> bytes; that bounds what it can add to resident memory.
/// </remarks>
internal sealed class BatchBufferPool(long retainedLimit) : ArrayPool<byte>
{
    private const int SmallestShift = 12; // 4 KiB
    private const int LargestShift = 24; // 16 MiB: larger arrays are rare (huge records) and not kept

    private readonly Stack<byte[]>?[] _free = new Stack<byte[]>?[LargestShift - SmallestShift + 1];
    private readonly object _lock = new();
    private long _retained;

    /// <summary>Bytes held for reuse now (for tests and diagnostics).</summary>
    public long RetainedBytes
    {
        get
        {
            lock (_lock)
            {
                return _retained;
            }
        }
    }

    public override byte[] Rent(int minimumLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(minimumLength);
        var shift = Math.Max(SmallestShift, minimumLength <= 1 ? 0 : BitOperations.Log2((uint)minimumLength - 1) + 1);
        if (shift > LargestShift)
        {
            return GC.AllocateUninitializedArray<byte>(minimumLength);
        }

        lock (_lock)
        {
            if (_free[shift - SmallestShift] is { Count: > 0 } stack)
            {
                var array = stack.Pop();
                _retained -= array.Length;
                return array;
            }
        }

        return GC.AllocateUninitializedArray<byte>(1 << shift);
    }

    public override void Return(byte[] array, bool clearArray = false)
    {
        ArgumentNullException.ThrowIfNull(array);
        var length = array.Length;
        if (!BitOperations.IsPow2(length) || length < 1 << SmallestShift || length > 1 << LargestShift)
        {
            return; // not one of ours (or too big to keep): the GC takes it
        }

        if (clearArray)
        {
            Array.Clear(array);
        }

        lock (_lock)
        {
            if (_retained + length > retainedLimit)
            {
                return;
            }

            (_free[BitOperations.Log2((uint)length) - SmallestShift] ??= new Stack<byte[]>()).Push(array);
            _retained += length;
        }
    }
}
