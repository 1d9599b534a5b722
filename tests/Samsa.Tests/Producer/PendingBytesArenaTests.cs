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

        // The emptied chunks are reused: storing as much again needs no new chunk.
        var chunks = stored.Select(s => s.Bytes.Chunk!.Array).Distinct().ToHashSet();
        Assert.True(chunks.Count > 3, $"only {chunks.Count} chunks were used");
        for (var i = 0; i < 3_000; i++)
        {
            var again = arena.Store([1], new byte[1024 + (i % 1000)]);
            Assert.Contains(again.Chunk!.Array, chunks);
        }
    }

    [Fact]
    public void EmptiedChunksGoBackToTheProducersPoolWithinItsLimit()
    {
        var pool = new BatchBufferPool(retainedLimit: 2 << 20);
        var arena = new PendingBytesArena(pool);
        var stored = Enumerable.Range(0, 4_000).Select(_ => arena.Store([1], new byte[1000])).ToList(); // four chunks
        Assert.Equal(0, pool.RetainedBytes);

        stored.ForEach(arena.Release);

        // Three full chunks came back (the one being filled stays with the arena); the pool keeps two within its limit.
        Assert.Equal(2L << 20, pool.RetainedBytes);
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

public sealed class PendingBytesArenaFifoTests
{
    [Fact]
    public void RecordsLeavingInArrivalOrderReuseAFewChunks()
    {
        // Sustained backpressure: 10,000 records of 10 KB wait at any time, the oldest leaving as a new one comes.
        var arena = new PendingBytesArena(new BatchBufferPool(retainedLimit: 8 << 20));
        var waiting = new Queue<PendingBytes>();
        var arrays = new HashSet<byte[]>(ReferenceEqualityComparer.Instance);
        var value = new byte[10_240];
        for (var i = 0; i < 50_000; i++)
        {
            var bytes = arena.Store([1, 2, 3], value);
            arrays.Add(bytes.Chunk!.Array);
            waiting.Enqueue(bytes);
            if (waiting.Count > 10_000)
            {
                arena.Release(waiting.Dequeue());
            }
        }

        // About 100 chunks hold what waits; reuse keeps the total near that, far below one per 100 records.
        Assert.InRange(arrays.Count, 90, 120);
    }
}
