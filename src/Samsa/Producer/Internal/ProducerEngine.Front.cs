using Microsoft.Extensions.Logging;

namespace Samsa.Producer.Internal;

/// <summary>What the typed front needs of the engine beyond appending: closing the waits, logging.</summary>
internal sealed partial class ProducerEngine
{
    // Cancelled by dispose: ends every topic's metadata wait at once instead of after max.block.ms.
    private readonly CancellationTokenSource _closing = new();

    /// <summary>A user callback threw; the producer goes on (event 1002).</summary>
    public void OnHandlerFailed(Exception exception, string topic, int partition) => LogHandlerFailed(exception, topic, partition);

    /// <summary>The record of a caller that stopped waiting (its token was cancelled) failed: the log is all that is left to tell.</summary>
    public void OnAbandonedRecordFailed(KafkaException error) => LogAbandonedRecordFailed(error, error.Topic ?? "", error.Partition ?? -1, error.Message);

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

    [LoggerMessage(EventId = 1007, Level = LogLevel.Warning, Message = "A record of {Topic}[{Partition}] failed after its caller stopped waiting (cancellation token): {Reason}")]
    private partial void LogAbandonedRecordFailed(Exception exception, string topic, int partition, string reason);
}
