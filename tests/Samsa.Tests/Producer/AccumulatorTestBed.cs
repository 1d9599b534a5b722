using Microsoft.Extensions.Logging.Abstractions;
using Samsa.Network;
using Samsa.Producer.Internal;

namespace Samsa.Tests.Producer;

/// <summary>
/// One partition's accumulator driven by hand: an engine that never connects, a sender whose loop is not
/// started, and the drains and answers a test plays itself.
/// </summary>
public abstract class AccumulatorTestBed : IAsyncDisposable
{
    private protected AccumulatorTestBed(ProducerOptions options)
    {
        Engine = new ProducerEngine(options.Validate(), Samsa.Diagnostics.SamsaLoggers.Null);
        Sender = new BrokerSender(Engine, new BrokerAddress(1, "127.0.0.1", 1));
        Partition = new PartitionAccumulator("t", 0, Engine);
    }

    private protected ProducerEngine Engine { get; }

    private protected BrokerSender Sender { get; }

    private protected PartitionAccumulator Partition { get; }

    public async ValueTask DisposeAsync()
    {
        await Sender.DisposeAsync();
        await Engine.DisposeAsync();
        GC.SuppressFinalize(this);
    }

    private protected ProducerBatch? Drain(ProducerIdAndEpoch identity)
    {
        var next = long.MaxValue;
        return Partition.TryDrain(Sender, MonotonicClock.NowMs, identity, int.MaxValue, true, ref next, out _);
    }
}
