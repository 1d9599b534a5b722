using Microsoft.Extensions.Logging.Abstractions;
using Samsa.Network;
using Samsa.Producer.Internal;

namespace Samsa.Tests.Producer;

/// <summary>
/// A partition is registered with exactly one sender, once, whatever moves race each other; every
/// batch is reported, even one answered after the producer was disposed.
/// </summary>
public sealed class SenderOwnershipTests : IAsyncDisposable
{
    private readonly ProducerEngine _engine = new(
        new ProducerOptions { BootstrapServers = ["127.0.0.1:1"], EnableIdempotence = false, Linger = TimeSpan.Zero }.Validate(),
        Samsa.Diagnostics.SamsaLoggers.Null);

    public async ValueTask DisposeAsync() => await _engine.DisposeAsync();

    [Fact]
    public void ASecondRegistrationDoesNotPutTwoBatchesOfOnePartitionInOneRequest()
    {
        var sender = new BrokerSender(_engine, new BrokerAddress(1, "127.0.0.1", 1));
        var partition = new PartitionAccumulator("t", 0, _engine);
        partition.MoveTo(sender);
        sender.Assign(partition); // as a leader hint racing a metadata update used to do
        for (var i = 0; i < 2; i++)
        {
            partition.Append(1, default, true, [(byte)i], false, null, default, 10, out _);
            partition.BeginFlush(new FlushWaiter());
        }

        var batches = new List<ProducerBatch>();
        var next = long.MaxValue;
        sender.Drain(MonotonicClock.NowMs, ProducerIdAndEpoch.None, batches, ref next);
        Assert.Single(batches);
    }

    [Fact]
    public async Task RacingMovesLeaveThePartitionWithTheSenderItNames()
    {
        var a = new BrokerSender(_engine, new BrokerAddress(1, "127.0.0.1", 1));
        var b = new BrokerSender(_engine, new BrokerAddress(2, "127.0.0.1", 2));
        for (var round = 0; round < 200; round++)
        {
            var partition = new PartitionAccumulator("t", round, _engine);
            partition.MoveTo(a);
            using var start = new Barrier(2);
            var toB = Task.Run(() => { start.SignalAndWait(); partition.MoveTo(b); partition.MoveTo(a); });
            var toA = Task.Run(() => { start.SignalAndWait(); partition.MoveTo(b); partition.MoveTo(a); partition.MoveTo(b); });
            await Task.WhenAll(toB, toA);

            var owner = partition.Sender!;
            var other = ReferenceEquals(owner, a) ? b : a;
            Assert.True(owner.IsAssigned(partition), $"round {round}: the partition is missing from its own sender's list");
            Assert.False(other.IsAssigned(partition), $"round {round}: the partition is still on the other sender's list");
        }
    }

    [Fact]
    public async Task ABatchAnsweredAfterDisposeIsStillReported()
    {
        var partition = new PartitionAccumulator("t", 0, _engine);
        var promise = DeliveryPromise.Rent();
        partition.Append(1, default, true, [1], false, null, new PendingDelivery(promise, null, 1), 10, out _);
        partition.BeginFlush(new FlushWaiter());
        var sender = new BrokerSender(_engine, new BrokerAddress(1, "127.0.0.1", 1));
        var next = long.MaxValue;
        var batch = partition.TryDrain(sender, MonotonicClock.NowMs, ProducerIdAndEpoch.None, int.MaxValue, true, ref next, out _)!;

        await _engine.DisposeAsync();
        _engine.OnStored(batch, 41, -1);

        var result = await promise.Task.AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(41, result.Offset);
    }

    [Fact]
    public async Task ASecondCompletionOfAPromiseIsIgnored()
    {
        var promise = DeliveryPromise.Rent();
        var wait = promise.Task;
        promise.Succeed(new DeliveryResult("t", 0, 7, default));
        promise.Fail(new KafkaException("late"));
        promise.Succeed(new DeliveryResult("t", 0, 8, default));
        Assert.Equal(7, (await wait).Offset);
    }

    /// <summary>
    /// A partition moved while a batch was in flight on its old sender: the new sender holds the next
    /// batch until that answer. The answer must wake the new sender; waking only the one that got it left
    /// the next batch unsent until delivery.timeout.ms.
    /// </summary>
    [Fact]
    public async Task AnAnswerOnTheOldSenderWakesThePartitionsNewSender()
    {
        var oldSender = new BrokerSender(_engine, new BrokerAddress(1, "127.0.0.1", 1));
        var newSender = new BrokerSender(_engine, new BrokerAddress(2, "127.0.0.1", 1));
        var partition = new PartitionAccumulator("t", 0, _engine);
        partition.MoveTo(oldSender);
        partition.Append(1, default, true, [1], false, null, default, 10, out _);
        partition.BeginFlush(new FlushWaiter());
        var next = long.MaxValue;
        var inFlight = partition.TryDrain(oldSender, MonotonicClock.NowMs, ProducerIdAndEpoch.None, int.MaxValue, true, ref next, out _)!;

        partition.MoveTo(newSender);
        newSender.Start(); // drains nothing yet: the old sender holds the partition
        partition.Append(2, default, true, [2], false, null, default, 10, out _);
        partition.BeginFlush(new FlushWaiter());
        ProducerBatch waiting;
        lock (partition.Lock)
        {
            waiting = partition.Batches[^1];
        }

        await Task.Delay(200);
        Assert.Equal(0, waiting.Attempts);

        _engine.OnStored(inFlight, 0, -1);

        // The new sender takes the batch (its broker is unreachable here, so the attempt then fails and waits to retry).
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (waiting.Attempts == 0 && waiting.State == BatchState.Unsent)
        {
            Assert.True(DateTime.UtcNow < deadline, "the new sender was never woken: the batch is still unsent");
            await Task.Delay(10);
        }

        await newSender.DisposeAsync();
    }
}
