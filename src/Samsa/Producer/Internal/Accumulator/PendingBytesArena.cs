using System.Buffers;

namespace Samsa.Producer.Internal;

/// <summary>
/// Where records that wait (for buffer memory or their topic's metadata) keep their serialized bytes: packed one
/// after another into 1 MiB chunks, each chunk reused once every record in it has been appended or failed.
/// </summary>
/// <remarks>
/// Under sustained backpressure every <c>ProduceAsync</c> past <c>buffer.memory</c> waits, and there may be tens of
/// thousands of them. An array each would be more than the shared pool keeps, so each would be a fresh allocation that
/// lives until its turn comes: survivors that the GC copies from generation to generation. Records wait and leave
/// roughly in arrival order, so chunks fill and empty in order and are reused whole. Chunks come from and go back to
/// <paramref name="pool"/>, whose limit covers them with the batches' grown arrays; a record too large to share a
/// chunk takes an array of its own from there too.
/// </remarks>
internal sealed class PendingBytesArena(ArrayPool<byte> pool)
{
    private const int ChunkSize = 1 << 20;

    // Records larger than this get a chunk of their own, so that one does not waste most of a shared chunk.
    private const int LargestShared = ChunkSize / 8;

    private readonly object _lock = new();
    private Chunk? _current;

    /// <summary>Copies <paramref name="key"/> then <paramref name="value"/> into the arena; release the slice once with <see cref="Release"/>.</summary>
    public PendingBytes Store(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        var length = key.Length + value.Length;
        if (length == 0)
        {
            return default;
        }

        Chunk chunk;
        int offset;
        if (length > LargestShared)
        {
            chunk = new Chunk(pool.Rent(length)) { Used = length, Live = 1, Retired = true };
            offset = 0;
        }
        else
        {
            lock (_lock)
            {
                if (_current is null || _current.Array.Length - _current.Used < length)
                {
                    // A full chunk goes back to the pool when its last record leaves, not before.
                    if (_current is { } full)
                    {
                        full.Retired = true;
                        if (full.Live == 0)
                        {
                            pool.Return(full.Array);
                        }
                    }

                    _current = new Chunk(pool.Rent(ChunkSize));
                }

                chunk = _current;
                offset = chunk.Used;
                chunk.Used += length;
                chunk.Live++;
            }
        }

        key.CopyTo(chunk.Array.AsSpan(offset));
        value.CopyTo(chunk.Array.AsSpan(offset + key.Length));
        return new PendingBytes(chunk, offset, length);
    }

    /// <summary>The record no longer needs its bytes (appended or failed).</summary>
    public void Release(PendingBytes bytes)
    {
        if (bytes.Chunk is not { } chunk)
        {
            return;
        }

        lock (_lock)
        {
            if (--chunk.Live > 0)
            {
                return;
            }

            if (!chunk.Retired)
            {
                // Empty and still the one being filled: start it over instead of giving it back.
                chunk.Used = 0;
                return;
            }

            pool.Return(chunk.Array);
        }
    }

    /// <summary>A chunk: its array, how much is written, how many records still use it.</summary>
    internal sealed class Chunk(byte[] array)
    {
        public byte[] Array { get; } = array;

        public int Used { get; set; }

        public int Live { get; set; }

        // No longer the chunk being filled (or a large record's own array): it is given back when Live reaches 0.
        public bool Retired { get; set; }
    }
}

/// <summary>One waiting record's key and value bytes in a <see cref="PendingBytesArena"/> chunk.</summary>
internal readonly record struct PendingBytes(PendingBytesArena.Chunk? Chunk, int Offset, int Length)
{
    public ReadOnlySpan<byte> Span => Chunk is null ? default : Chunk.Array.AsSpan(Offset, Length);
}
