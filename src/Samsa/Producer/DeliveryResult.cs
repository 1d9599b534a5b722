namespace Samsa;

/// <summary>Where an acknowledged record was written.</summary>
/// <param name="Topic">The record's topic.</param>
/// <param name="Partition">The partition it went to.</param>
/// <param name="Offset">Its offset in the partition; -1 with <c>acks=0</c>, where the broker does not answer.</param>
/// <param name="Timestamp">The record's timestamp: the create time sent, or the broker's log-append time.</param>
public readonly record struct DeliveryResult(string Topic, int Partition, long Offset, Timestamp Timestamp)
{
    /// <summary>
    /// Whether the record is in the log: <see cref="PersistenceStatus.Persisted"/> once acknowledged
    /// (<see cref="PersistenceStatus.PossiblyPersisted"/> with <c>acks=0</c>, where no answer comes); for a
    /// failed record, whether it may have been written all the same.
    /// </summary>
    public PersistenceStatus Status { get; init; }
}

/// <summary>The outcome of one record, as passed to a delivery handler.</summary>
public readonly struct DeliveryReport
{
    internal DeliveryReport(DeliveryResult result, KafkaException? error)
    {
        Result = result;
        Error = error;
    }

    /// <summary>Topic, partition, offset and timestamp. On failure the offset is -1, and the partition is -1 if none was chosen.</summary>
    public DeliveryResult Result { get; }

    /// <summary>Why the record failed; null when it was acknowledged.</summary>
    public KafkaException? Error { get; }

    /// <summary>
    /// Whether the record is in the log (<see cref="DeliveryResult.Status"/>). For a failure, this is the
    /// record's own status: <see cref="PersistenceStatus.PossiblyPersisted"/> means producing it again may
    /// duplicate it.
    /// </summary>
    public PersistenceStatus Status => Result.Status;

    /// <summary>True when the record was acknowledged (<see cref="Error"/> is null).</summary>
    public bool IsSuccess => Error is null;

    /// <summary>The record's topic (<see cref="DeliveryResult.Topic"/>).</summary>
    public string Topic => Result.Topic;

    /// <summary>The partition the record went to; -1 if none was chosen before it failed.</summary>
    public int Partition => Result.Partition;

    /// <summary>The record's offset in its partition; -1 on failure and with <c>acks=0</c>.</summary>
    public long Offset => Result.Offset;

    /// <summary>The record's timestamp: the create time sent, or the broker's log-append time.</summary>
    public Timestamp Timestamp => Result.Timestamp;
}
