using Microsoft.Extensions.Logging;
using Samsa.Network;

namespace Samsa.Diagnostics;

/// <summary>The idempotent producer's id, epochs and sequences (1500-1599, category <c>Samsa.Producer</c>).</summary>
internal static partial class IdempotenceLog
{
    [LoggerMessage(EventId = SamsaLogEvents.ProducerIdObtained, Level = LogLevel.Information, Message = "The idempotent producer has producer id {ProducerId}, epoch {Epoch} (from broker {Broker})")]
    public static partial void ProducerIdObtained(ILogger logger, long producerId, short epoch, BrokerAddress broker);

    [LoggerMessage(EventId = SamsaLogEvents.EpochBumped, Level = LogLevel.Information, Message = "Producer id {ProducerId} moves from epoch {OldEpoch} to {NewEpoch} (KIP-360): a partition's sequence state broke")]
    public static partial void EpochBumped(ILogger logger, long producerId, short oldEpoch, short newEpoch);

    [LoggerMessage(EventId = SamsaLogEvents.PartitionSequenceReset, Level = LogLevel.Warning,
        Message = "The sequence state of {Topic}[{Partition}] (producer id {ProducerId}, epoch {Epoch}) is broken: the partition moves to the next epoch and resends from sequence 0 ({Reason})")]
    public static partial void PartitionSequenceReset(ILogger logger, string topic, int partition, long producerId, short epoch, string reason);

    [LoggerMessage(EventId = SamsaLogEvents.ProducerIdRequestFailed, Level = LogLevel.Warning, Message = "InitProducerId failed on broker {Broker} with {Error}: {Reason}")]
    public static partial void ProducerIdRequestFailed(ILogger logger, BrokerAddress broker, ErrorCode error, string reason);
}
