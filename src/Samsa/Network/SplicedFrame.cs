using System.Runtime.InteropServices;
using Samsa.Protocol;

namespace Samsa.Network;

/// <summary>
/// A request whose large parts are not copied into its frame: a Produce request's record batches stay in their
/// own buffers, and the socket takes the frame's bytes and theirs in one gathered write (<c>sendmsg</c>).
/// Copying a 1 MiB request into the frame read and wrote every byte once more, from buffers long out of
/// the cache. Only parts of at least <see cref="MinimumPart"/> bytes are spliced; small ones are cheaper to copy
/// than to give the kernel a segment each, and the number of segments stays small.
/// </summary>
/// <remarks>Reused by one sender, one request at a time: the parts must not change until the send completes.</remarks>
internal sealed class SplicedFrame(int initialCapacity) : IDisposable
{
    public const int MinimumPart = 16 * 1024;

    // Beyond this many parts the rest are copied: sendmsg takes at most IOV_MAX (1024) segments at a time.
    private const int MaxParts = 128;

    private readonly List<(int At, ArraySegment<byte> Part)> _parts = [];
    private readonly List<ArraySegment<byte>> _segments = [];
    private bool _maySplice;

    /// <summary>The request's own bytes: everything but the spliced parts.</summary>
    public PooledBufferWriter Frame { get; } = new(initialCapacity);

    /// <summary>Bytes the parts add to the frame's.</summary>
    public int PartBytes { get; private set; }

    public bool HasParts => _parts.Count > 0;

    /// <summary>Empties the request for the next one; <paramref name="maySplice"/> false: every part is copied (TLS).</summary>
    public void Reset(bool maySplice)
    {
        _maySplice = maySplice;
        Frame.Reset();
        _parts.Clear();
        PartBytes = 0;
    }

    /// <summary>Puts <paramref name="part"/> here in the request, without copying it, if it is worth it; false: copy it.</summary>
    public bool TrySplice(ReadOnlyMemory<byte> part)
    {
        if (!_maySplice || part.Length < MinimumPart || _parts.Count == MaxParts || !MemoryMarshal.TryGetArray(part, out var segment))
        {
            return false;
        }

        _parts.Add((Frame.WrittenCount, segment));
        PartBytes += part.Length;
        return true;
    }

    /// <summary>The request in send order: frame bytes and parts, interleaved. Valid until the next <see cref="Reset"/>.</summary>
    public IList<ArraySegment<byte>> Segments()
    {
        _segments.Clear();
        MemoryMarshal.TryGetArray(Frame.WrittenMemory, out var frame);
        var from = 0;
        foreach (var (at, part) in _parts)
        {
            if (at > from)
            {
                _segments.Add(frame.Slice(from, at - from));
            }

            _segments.Add(part);
            from = at;
        }

        if (from < frame.Count)
        {
            _segments.Add(frame.Slice(from));
        }

        return _segments;
    }

    public void Dispose() => Frame.Dispose();
}
