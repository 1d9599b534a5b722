using Samsa.Diagnostics;

namespace Samsa.Producer.Internal;

/// <summary>What the typed front needs of the engine beyond appending: closing the waits, logging.</summary>
internal sealed partial class ProducerEngine
{
    // Cancelled by dispose: ends every topic's metadata wait at once instead of after max.block.ms.
    private readonly CancellationTokenSource _closing = new();

    /// <summary>A user callback threw; the producer goes on (event 1002, rate-limited).</summary>
    public void OnHandlerFailed(Exception exception, string topic, int partition)
    {
        if (_handlerFailures.TryEnter(out var suppressed))
        {
            DeliveryLog.DeliveryHandlerFailed(_logger, exception, topic, partition, suppressed);
        }
    }

    /// <summary>The record of a caller that stopped waiting (its token was cancelled) failed: the log is all that is left to tell (event 1007, rate-limited).</summary>
    public void OnAbandonedRecordFailed(KafkaException error)
    {
        if (_abandonedFailures.TryEnter(out var suppressed))
        {
            DeliveryLog.AbandonedRecordFailed(_logger, error, error.Topic ?? "", error.Partition ?? -1, error.Message, suppressed);
        }
    }

    /// <summary>A record produced without a delivery handler failed: only the log can tell (event 1008, rate-limited).</summary>
    public void OnUnhandledRecordFailed(KafkaException error, string topic, int partition)
    {
        if (_unhandledFailures.TryEnter(out var suppressed))
        {
            DeliveryLog.UnhandledRecordFailed(_logger, error, topic, partition, error.Message, suppressed);
        }
    }

    /// <summary>
    /// Records produced and not yet reported: in batches, waiting for their topic, waiting for memory. Off the produce
    /// path (the close's log line); a moment's count, as records may be reported meanwhile.
    /// </summary>
    public long CountUnreported()
    {
        long count = Memory.WaiterCount;
        foreach (var topic in _topics.Values)
        {
            count += topic.WaitingCount;
            foreach (var partition in topic.Partitions)
            {
                lock (partition.Lock)
                {
                    foreach (var batch in partition.Batches)
                    {
                        count += batch.Deliveries.Count;
                    }
                }
            }
        }

        return count;
    }

    private static ProducerClosedException ClosedWhileWaitingForMetadata(string topic) =>
        new($"The producer was disposed while the record waited for the metadata of topic '{topic}'; it was not sent.") { Topic = topic };

    // Records not yet in any batch would otherwise wait out max.block.ms after the producer is
    // gone: when DisposeAsync returns, every record must have its outcome.
    private void FailWaitingRecords()
    {
        _closing.Cancel();
        foreach (var waiter in Memory.WithdrawAll())
        {
            waiter.Fail(new ProducerClosedException("The producer was disposed while the record waited for space in buffer.memory; it was not sent."));
        }

        foreach (var topic in _topics.Values)
        {
            topic.Resolve(ClosedWhileWaitingForMetadata(topic.Name));
        }
    }
}
