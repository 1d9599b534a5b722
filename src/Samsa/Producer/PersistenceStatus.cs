namespace Samsa;

/// <summary>
/// Whether a record may be in the partition's log, as far as the producer knows when it reports the
/// record. After a failure it tells a caller whether producing the record again may duplicate it.
/// </summary>
public enum PersistenceStatus
{
    /// <summary>
    /// The record is surely not in the log: it failed before it was sent (a bad record, a full buffer,
    /// a closed producer, a partition without a leader until <c>delivery.timeout.ms</c>), or every
    /// attempt was answered with a refusal. Producing it again cannot duplicate it.
    /// </summary>
    NotPersisted = 0,

    /// <summary>
    /// The record may or may not be in the log: an attempt ended without an answer that settles it (the
    /// connection was lost after the request was sent, <c>request.timeout.ms</c> passed, the broker
    /// answered REQUEST_TIMED_OUT or NOT_ENOUGH_REPLICAS_AFTER_APPEND) and no later answer settled it;
    /// with <c>acks=0</c>, every record sent. Producing it again may duplicate it.
    /// </summary>
    PossiblyPersisted = 1,

    /// <summary>The broker acknowledged the record: it is in the log.</summary>
    Persisted = 2,
}
