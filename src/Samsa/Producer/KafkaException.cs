using Samsa.Serialization;

namespace Samsa;

/// <summary>
/// Why a record or an operation failed. Every error Samsa reports derives from this type:
/// broker errors as <see cref="KafkaBrokerException"/>, client-side failures as their own types.
/// </summary>
public class KafkaException : Exception
{
    /// <summary>An error with a message, its error code, and whether trying again may succeed.</summary>
    /// <param name="message">What failed and why.</param>
    /// <param name="errorCode">The Kafka protocol error code, or a client-side code (<c>Local*</c>, see <see cref="ErrorCodes.IsLocal"/>).</param>
    /// <param name="isRetriable">True when trying the same thing again may succeed.</param>
    /// <param name="innerException">The exception that caused this one, if any.</param>
    public KafkaException(string message, ErrorCode errorCode = ErrorCode.UnknownServerError, bool isRetriable = false, Exception? innerException = null)
        : base(message, innerException)
    {
        ErrorCode = errorCode;
        IsRetriable = isRetriable;
    }

    /// <summary>
    /// The Kafka protocol error code a broker answered with, or for a failure the producer detected itself
    /// a client-side code (<c>Local*</c>, below -1; <see cref="ErrorCodes.IsLocal"/>), so that callers can
    /// switch on it.
    /// </summary>
    public ErrorCode ErrorCode { get; }

    /// <summary>True when trying the same thing again may succeed (the producer already retried where it could).</summary>
    public bool IsRetriable { get; }

    /// <summary>
    /// Whether the failed record may be in the log all the same: <see cref="PersistenceStatus.NotPersisted"/>
    /// for a failure before sending or a definite refusal, <see cref="PersistenceStatus.PossiblyPersisted"/>
    /// after a lost connection or a timeout that no later answer settled. One error can fail several
    /// records (a fatal error fails all of them); if their statuses differ, this says
    /// <see cref="PersistenceStatus.PossiblyPersisted"/>, the safe answer for a caller deciding whether to
    /// produce again. A delivery handler gets each record's own status in <see cref="DeliveryReport.Status"/>.
    /// </summary>
    public PersistenceStatus PersistenceStatus => (PersistenceStatus)Volatile.Read(ref _persistenceStatus);

    private int _persistenceStatus;

    /// <summary>
    /// Records that a record failing with this error has <paramref name="status"/>. The value only moves
    /// towards <see cref="PersistenceStatus.PossiblyPersisted"/>, so a shared error never claims that a
    /// record which may be in the log is not.
    /// </summary>
    internal void MarkFor(PersistenceStatus status)
    {
        if (status == PersistenceStatus.PossiblyPersisted)
        {
            Volatile.Write(ref _persistenceStatus, (int)PersistenceStatus.PossiblyPersisted);
        }
    }

    /// <summary>True when the producer cannot go on and must be disposed.</summary>
    public virtual bool IsFatal => false;

    /// <summary>
    /// True when the current transaction cannot commit: abort it (<see cref="IProducer{TKey, TValue}.AbortTransactionAsync"/>)
    /// and start again. The producer itself can go on.
    /// </summary>
    public virtual bool TxnRequiresAbort => false;

    /// <summary>The topic of the record that failed, where there is one.</summary>
    public string? Topic { get; init; }

    /// <summary>The partition of the record that failed, where one was chosen.</summary>
    public int? Partition { get; init; }
}

/// <summary>The broker refused a request with a protocol error code.</summary>
public sealed class KafkaBrokerException : KafkaException
{
    /// <summary>A broker's refusal of a record's batch.</summary>
    /// <param name="errorCode">The protocol error code the broker answered with.</param>
    /// <param name="brokerMessage">The error message the broker sent, if any.</param>
    /// <param name="topic">The topic of the refused batch.</param>
    /// <param name="partition">The partition of the refused batch.</param>
    public KafkaBrokerException(ErrorCode errorCode, string? brokerMessage, string topic, int partition)
        : base(Describe(errorCode, brokerMessage, topic, partition), errorCode, ErrorCodes.IsRetriable(errorCode))
    {
        BrokerMessage = brokerMessage;
        Topic = topic;
        Partition = partition;
    }

    /// <summary>The error message the broker sent, if any.</summary>
    public string? BrokerMessage { get; }

    private static string Describe(ErrorCode code, string? brokerMessage, string topic, int partition) =>
        $"The broker rejected the batch for {topic}[{partition}] with {ErrorCodes.Name(code)} ({(short)code})"
        + (string.IsNullOrEmpty(brokerMessage) ? "." : $": {brokerMessage}");
}

/// <summary>The connection to a broker failed or closed before the answer came (<see cref="ErrorCode.LocalTransport"/>).</summary>
public sealed class KafkaNetworkException(string message, Exception? innerException = null)
    : KafkaException(message, ErrorCode.LocalTransport, isRetriable: true, innerException);

/// <summary>
/// A client-side time limit passed: <c>delivery.timeout.ms</c> for a record (<see cref="ErrorCode.LocalMessageTimedOut"/>),
/// or <c>request.timeout.ms</c> for a request and <c>max.block.ms</c> for a topic's metadata (<see cref="ErrorCode.LocalTimedOut"/>).
/// </summary>
public sealed class KafkaTimeoutException : KafkaException
{
    /// <summary>A time limit passed (<see cref="ErrorCode.LocalTimedOut"/>).</summary>
    /// <param name="message">Which limit passed, and what was waited for.</param>
    /// <param name="innerException">The last failure seen while waiting, if any.</param>
    public KafkaTimeoutException(string message, Exception? innerException = null)
        : this(message, ErrorCode.LocalTimedOut, innerException)
    {
    }

    internal KafkaTimeoutException(string message, ErrorCode errorCode, Exception? innerException = null)
        : base(message, errorCode, isRetriable: true, innerException)
    {
    }

    /// <summary>A record was not delivered within <c>delivery.timeout.ms</c> (<see cref="ErrorCode.LocalMessageTimedOut"/>).</summary>
    internal static KafkaTimeoutException DeliveryTimeout(string message, string topic, int partition, Exception? innerException = null) =>
        new(message, ErrorCode.LocalMessageTimedOut, innerException) { Topic = topic, Partition = partition };
}

/// <summary>The record itself is wrong (topic, partition): only this record fails; fix the record (<see cref="ErrorCode.LocalInvalidRecord"/>).</summary>
public sealed class InvalidRecordException(string message)
    : KafkaException(message, ErrorCode.LocalInvalidRecord, isRetriable: false);

/// <summary>
/// A key or value serializer threw; the inner exception is what it threw
/// (<see cref="ErrorCode.LocalKeySerialization"/> or <see cref="ErrorCode.LocalValueSerialization"/>).
/// </summary>
public sealed class SerializationException : KafkaException
{
    /// <summary>A serializer failed (<see cref="ErrorCode.LocalValueSerialization"/>).</summary>
    /// <param name="message">Which serializer failed, for which record.</param>
    /// <param name="innerException">What the serializer threw.</param>
    public SerializationException(string message, Exception innerException)
        : this(message, MessageComponentType.Value, innerException)
    {
    }

    /// <summary>The key's or the value's serializer failed.</summary>
    /// <param name="message">Which serializer failed, for which record.</param>
    /// <param name="component">Whether the key or the value failed to serialize.</param>
    /// <param name="innerException">What the serializer threw.</param>
    public SerializationException(string message, MessageComponentType component, Exception innerException)
        : base(message, component == MessageComponentType.Key ? ErrorCode.LocalKeySerialization : ErrorCode.LocalValueSerialization, isRetriable: false, innerException)
    {
        Component = component;
    }

    /// <summary>Whether the key or the value failed to serialize.</summary>
    public MessageComponentType Component { get; }
}

/// <summary>
/// <c>buffer.memory</c> was full for longer than <c>max.block.ms</c> (or, with <c>TryProduce</c>,
/// at the moment of the call): records are produced faster than the cluster takes them
/// (<see cref="ErrorCode.LocalBufferFull"/>).
/// </summary>
public sealed class BufferFullException(string message)
    : KafkaException(message, ErrorCode.LocalBufferFull, isRetriable: true);

/// <summary>
/// The serialized record is larger than <c>max.request.size</c> (or <c>buffer.memory</c>), so it was never
/// sent (<see cref="ErrorCode.LocalRecordTooLarge"/>). A broker's own refusal is a <see cref="KafkaBrokerException"/>
/// with <see cref="ErrorCode.MessageTooLarge"/>.
/// </summary>
public sealed class RecordTooLargeException(string message)
    : KafkaException(message, ErrorCode.LocalRecordTooLarge, isRetriable: false);

/// <summary>The producer was disposed before the record could be delivered, or a call came after (<see cref="ErrorCode.LocalProducerClosed"/>).</summary>
public sealed class ProducerClosedException(string message)
    : KafkaException(message, ErrorCode.LocalProducerClosed, isRetriable: false);

/// <summary>
/// The producer hit an error it cannot recover from (for example, the cluster refuses it a
/// producer id): every record not yet delivered fails with this error, and so does every later
/// call. Dispose the producer; a new one may work once the cause is fixed. Its code is
/// <see cref="ErrorCode.LocalFatal"/>; <see cref="Cause"/> (also the inner exception) carries the
/// cause's own code.
/// </summary>
public sealed class ProducerFatalException(string message, KafkaException cause)
    : KafkaException(message, ErrorCode.LocalFatal, isRetriable: false, cause)
{
    /// <summary>Always true: the producer cannot go on.</summary>
    public override bool IsFatal => true;

    /// <summary>The error that made the producer fail, with its own <see cref="KafkaException.ErrorCode"/>.</summary>
    public KafkaException Cause { get; } = cause;
}
