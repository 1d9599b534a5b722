using System.Buffers;

namespace Samsa.Protocol;

/// <summary>
/// A growable <see cref="IBufferWriter{T}"/> over <see cref="ArrayPool{T}"/> arrays that can be
/// reset and reused, so that encoding a request allocates nothing once it has warmed up.
/// </summary>
internal sealed class PooledBufferWriter : IBufferWriter<byte>, IDisposable
{
    private readonly ArrayPool<byte> _pool;
    private byte[] _buffer;
    private int _written;

    /// <param name="initialCapacity">The first buffer's size.</param>
    /// <param name="pool">Where buffers come from; <see cref="ArrayPool{T}.Shared"/> when null.</param>
    public PooledBufferWriter(int initialCapacity = 256, ArrayPool<byte>? pool = null)
    {
        _pool = pool ?? ArrayPool<byte>.Shared;
        _buffer = _pool.Rent(initialCapacity);
    }

    public int WrittenCount => _written;

    /// <summary>The size of the rented buffer, which grows with what was written and stays until disposed.</summary>
    public int Capacity => _buffer.Length;

    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _written);

    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, _written);

    /// <summary>The written bytes, writable, for patching lengths and checksums after the fact.</summary>
    public Span<byte> WrittenSpanForPatching => _buffer.AsSpan(0, _written);

    public void Reset() => _written = 0;

    public void Advance(int count)
    {
        if ((uint)count > (uint)(_buffer.Length - _written))
        {
            throw new ArgumentOutOfRangeException(nameof(count));
        }

        _written += count;
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsMemory(_written);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsSpan(_written);
    }

    public void Dispose()
    {
        var buffer = _buffer;
        _buffer = [];
        _written = 0;
        if (buffer.Length > 0)
        {
            _pool.Return(buffer);
        }
    }

    private void Ensure(int sizeHint)
    {
        sizeHint = Math.Max(sizeHint, 1);
        if (_buffer.Length - _written >= sizeHint)
        {
            return;
        }

        var newSize = Math.Max(_buffer.Length * 2, _written + sizeHint);
        var bigger = _pool.Rent(newSize);
        _buffer.AsSpan(0, _written).CopyTo(bigger);
        if (_buffer.Length > 0)
        {
            _pool.Return(_buffer);
        }

        _buffer = bigger;
    }
}
