using Samsa.Producer.Internal;

namespace Samsa.Tests.Producer;

public sealed class PendingBytesArenaTests
{
    [Fact]
    public void EachRecordKeepsItsOwnBytesUntilReleasedAndFullChunksGoBackOnce()
    {
        var pool = new BatchBufferPool(retainedLimit: 64 << 20);
        var arena = new PendingBytesArena(pool);
        var stored = new List<(PendingBytes Bytes, byte Fill, int Length)>();
        for (var i = 0; i < 3_000; i++)
        {
            // 1 KiB to ~2 KiB records: a 1 MiB chunk holds several hundred, so this fills several chunks.
            var length = 1024 + (i % 1000);
            var value = Enumerable.Repeat((byte)i, length).ToArray();
            stored.Add((arena.Store([(byte)(i >> 8)], value), (byte)i, length + 1));
        }

        // Release out of order: every other record first, then the rest.
        foreach (var pass in new[] { 0, 1 })
        {
            for (var i = pass; i < stored.Count; i += 2)
            {
                var (bytes, fill, length) = stored[i];
                Assert.Equal(length, bytes.Span.Length);
                Assert.Equal((byte)(i >> 8), bytes.Span[0]);
                Assert.True(bytes.Span[1..].IndexOfAnyExcept(fill) < 0, $"record {i}'s bytes were overwritten");
                arena.Release(bytes);
            }
        }

        // Every chunk but the one being filled is back in the pool, each once.
        var chunks = stored.Select(s => s.Bytes.Chunk).Distinct().Count();
        Assert.True(chunks > 3, $"only {chunks} chunks were used");
        Assert.Equal((chunks - 1) * (1L << 20), pool.RetainedBytes);
    }

    [Fact]
    public void ALargeRecordGetsAnArrayOfItsOwnThatGoesBackWhenReleased()
    {
        var pool = new BatchBufferPool(retainedLimit: 64 << 20);
        var arena = new PendingBytesArena(pool);
        var large = arena.Store([], new byte[600_000]);
        Assert.Equal(0, large.Offset);

        arena.Release(large);
        Assert.Equal(1L << 20, pool.RetainedBytes);
        Assert.Equal(0, arena.Store([], []).Length);
    }
}
