using Samsa.Producer.Internal;

namespace Samsa.Tests.Producer;

public sealed class DeliveryListTests
{
    private static PendingDelivery Entry(long i) => new(null, null, i);

    [Fact]
    public void EntriesComeBackInAppendOrderAcrossChunks()
    {
        var list = new DeliveryList(new DeliveryChunks(1 << 20));
        var count = (3 * DeliveryList.ChunkLength) + 17;
        for (var i = 0; i < count; i++)
        {
            list.Add(Entry(i));
        }

        Assert.Equal(count, list.Count);
        for (var i = 0; i < count; i++)
        {
            Assert.Equal(i, list[i].TimestampMs);
        }

        Assert.Throws<ArgumentOutOfRangeException>(() => list[count].TimestampMs);
    }

    [Fact]
    public void ASplitMovesTheTailInOrderAndKeepsTheHead()
    {
        var store = new DeliveryChunks(1 << 20);
        var head = new DeliveryList(store);
        var tail = new DeliveryList(store);
        var count = (2 * DeliveryList.ChunkLength) + 100;
        for (var i = 0; i < count; i++)
        {
            head.Add(Entry(i));
        }

        var keep = DeliveryList.ChunkLength + 10; // inside the second chunk
        head.MoveTailTo(tail, keep);

        Assert.Equal(keep, head.Count);
        Assert.Equal(count - keep, tail.Count);
        Assert.Equal(Enumerable.Range(0, keep).Select(i => (long)i), Enumerable.Range(0, head.Count).Select(i => head[i].TimestampMs));
        Assert.Equal(Enumerable.Range(keep, count - keep).Select(i => (long)i), Enumerable.Range(0, tail.Count).Select(i => tail[i].TimestampMs));

        // The head goes on growing after the split, where it stopped.
        head.Add(Entry(-1));
        Assert.Equal(-1, head[keep].TimestampMs);
    }

    [Fact]
    public void ClearDropsTheCallersAndGivesChunksBackForTheNextBatch()
    {
        var store = new DeliveryChunks(1 << 20);
        var list = new DeliveryList(store);
        var handler = new Action<DeliveryReport>(_ => { });
        for (var i = 0; i < 3 * DeliveryList.ChunkLength; i++)
        {
            list.Add(new PendingDelivery(null, handler, i));
        }

        var chunks = Chunks(list).ToList(); // a copy: Clear changes the list itself
        list.Clear();
        Assert.Equal(0, list.Count);
        Assert.All(chunks, chunk => Assert.All(chunk, entry => Assert.Null(entry.Handler)));

        // Another list takes the two chunks given back (the first stays with its list) before any new one.
        var other = new DeliveryList(store);
        for (var i = 0; i < 2 * DeliveryList.ChunkLength; i++)
        {
            other.Add(Entry(i));
        }

        var reused = Chunks(other);
        Assert.Contains(reused[0], chunks.Skip(1));
        Assert.Contains(reused[1], chunks.Skip(1));
    }

    private static List<PendingDelivery[]> Chunks(DeliveryList list) =>
        (List<PendingDelivery[]>)typeof(DeliveryList).GetField("_chunks", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!.GetValue(list)!;
}
