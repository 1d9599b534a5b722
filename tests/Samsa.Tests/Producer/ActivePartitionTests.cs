using Microsoft.Extensions.Logging.Abstractions;
using Samsa.Network;
using Samsa.Producer.Internal;

namespace Samsa.Tests.Producer;

/// <summary>
/// A drain looks only at the partitions that hold a batch: with thousands of idle partitions, a drain per
/// new batch must not cost a pass over all of them. A partition that gains a batch is looked at again.
/// </summary>
public sealed class ActivePartitionTests : IAsyncDisposable
{
    private readonly ProducerEngine _engine = new(
        new ProducerOptions { BootstrapServers = ["127.0.0.1:1"], EnableIdempotence = false, Linger = TimeSpan.Zero }.Validate(),
        Samsa.Diagnostics.SamsaLoggers.Null);

    public async ValueTask DisposeAsync() => await _engine.DisposeAsync();

    [Fact]
    public async Task ADrainForgetsEmptyPartitionsAndABatchBringsOneBack()
    {
        await using var sender = new BrokerSender(_engine, new BrokerAddress(1, "127.0.0.1", 1));
        var partitions = Enumerable.Range(0, 1000).Select(p => new PartitionAccumulator("t", p, _engine)).ToArray();
        foreach (var partition in partitions)
        {
            partition.MoveTo(sender);
        }

        Assert.Equal(1000, sender.ActiveCount);
        Assert.Empty(DrainOnce(sender));
        Assert.Equal(0, sender.ActiveCount);

        var busy = partitions[417];
        Assert.True(busy.Append(1, default, true, [1], false, null, default, 10, out _));
        sender.Activate(busy, readyAtMs: 0);
        Assert.Equal(1, sender.ActiveCount);

        var drained = Assert.Single(DrainOnce(sender));
        Assert.Same(busy, drained.Partition);
        Assert.Equal(1, sender.ActiveCount); // in flight: it still holds a batch to be answered

        _engine.OnStored(drained, baseOffset: 0, logAppendTimeMs: -1);
        Assert.Empty(DrainOnce(sender));
        Assert.Equal(0, sender.ActiveCount);
    }

    [Fact]
    public async Task AStaleActivationAfterAMoveListsThePartitionOnlyWithItsNewSender()
    {
        await using var a = new BrokerSender(_engine, new BrokerAddress(1, "127.0.0.1", 1));
        await using var b = new BrokerSender(_engine, new BrokerAddress(2, "127.0.0.1", 2));
        var partition = new PartitionAccumulator("t", 0, _engine);
        partition.MoveTo(a);
        Assert.Empty(DrainOnce(a));

        partition.MoveTo(b);
        partition.Append(1, default, true, [1], false, null, default, 10, out _);
        a.Activate(partition, readyAtMs: 0); // an appender that read Sender before the move

        Assert.Equal(0, a.ActiveCount);
        Assert.Same(partition, Assert.Single(DrainOnce(b)).Partition);
    }

    [Fact]
    public async Task APartitionThatGainsABatchWhileADrainForgetsItIsNeverLost()
    {
        await using var sender = new BrokerSender(_engine, new BrokerAddress(1, "127.0.0.1", 1));
        var partition = new PartitionAccumulator("t", 0, _engine);
        partition.MoveTo(sender);
        const int Rounds = 2000;
        var drained = 0;
        using var start = new Barrier(2);
        var appender = Task.Run(() =>
        {
            start.SignalAndWait();
            for (var i = 0; i < Rounds; i++)
            {
                // Linger is zero: each record opens a batch of its own that is ready at once.
                partition.BeginFlush(new FlushWaiter());
                if (partition.Append(1, default, true, [1], false, null, default, 10, out _))
                {
                    sender.Activate(partition, readyAtMs: 0);
                }

                partition.BeginFlush(new FlushWaiter());
            }
        });
        var drainer = Task.Run(() =>
        {
            start.SignalAndWait();
            while (!appender.IsCompleted || partition.HasBatches)
            {
                foreach (var batch in DrainOnce(sender))
                {
                    drained += batch.Builder.RecordCount;
                    _engine.OnStored(batch, baseOffset: 0, logAppendTimeMs: -1);
                }
            }
        });

        await Task.WhenAll(appender, drainer).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(Rounds, drained);
    }

    [Fact]
    public async Task ABatchTooLargeForWhatWasLeftOfARequestOpensTheNextOne()
    {
        // Two partitions on one broker: a small batch keeps coming on the first, a large one waits on the second.
        // Each request starting at the small one could never take the large one (it does not fit behind it), so
        // the large one starts the next request.
        await using var engine = new ProducerEngine(
            new ProducerOptions { BootstrapServers = ["127.0.0.1:1"], EnableIdempotence = false, Linger = TimeSpan.Zero, MaxRequestSize = 1000 }.Validate(),
            Samsa.Diagnostics.SamsaLoggers.Null);
        await using var sender = new BrokerSender(engine, new BrokerAddress(1, "127.0.0.1", 1));
        var small = new PartitionAccumulator("t", 0, engine);
        var large = new PartitionAccumulator("t", 1, engine);
        small.MoveTo(sender);
        large.MoveTo(sender);
        small.Append(1, default, true, new byte[10], false, null, default, 10, out _);
        large.Append(1, default, true, new byte[990], false, null, default, 990, out _);

        var first = DrainOnce(sender);
        Assert.Same(small, Assert.Single(first).Partition);

        small.Append(1, default, true, new byte[10], false, null, default, 10, out _);
        var second = DrainOnce(sender);
        Assert.Same(large, second[0].Partition);
    }

    private static List<ProducerBatch> DrainOnce(BrokerSender sender)
    {
        var batches = new List<ProducerBatch>();
        var next = long.MaxValue;
        sender.Drain(MonotonicClock.NowMs, ProducerIdAndEpoch.None, batches, ref next);
        return batches;
    }
}
