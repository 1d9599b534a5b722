
namespace Samsa;

/// <summary>
/// Why a record or an operation failed. Every error Samsa reports derives from this type:
/// broker errors as <see cref="KafkaBrokerException"/>, client-side failures as their own types.
/// </summary>
public class KafkaException : Exception
{
    /// <summary>An error with a message, its error code, and whether trying again may succeed.</summary>
    /// <param name="message">What failed and why.</param>
    /// <param name="errorCode">The Kafka protocol error code, or the closest one for a client-side failure.</param>
    /// <param name="isRetriable">True when trying the same thing again may succeed.</param>
    /// <param name="innerException">The exception that caused this one, if any.</param>
    public KafkaException(string message, ErrorCode errorCode = ErrorCode.UnknownServerError, bool isRetriable = false, Exception? innerException = null)
        : base(message, innerException)
    {
        ErrorCode = errorCode;
        IsRetriable = isRetriable;
    }

    /// <summary>The Kafka protocol error code, or the closest one for a client-side failure.</summary>
    public ErrorCode ErrorCode { get; }

    /// <summary>True when trying the same thing again may succeed (the producer already retried where it could).</summary>
    public bool IsRetriable { get; }

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

/// <summary>The connection to a broker failed or closed before the answer came.</summary>
public sealed class KafkaNetworkException(string message, Exception? innerException = null)
    : KafkaException(message, ErrorCode.NetworkException, isRetriable: true, innerException);

/// <summary>A client-side time limit passed (<c>request.timeout.ms</c>, <c>delivery.timeout.ms</c> or <c>max.block.ms</c>).</summary>
public sealed class KafkaTimeoutException(string message, Exception? innerException = null)
    : KafkaException(message, ErrorCode.RequestTimedOut, isRetriable: true, innerException);

/// <summary>The record itself is wrong (topic, partition): only this record fails; fix the record.</summary>
public sealed class InvalidRecordException(string message)
    : KafkaException(message, ErrorCode.InvalidRecord, isRetriable: false);

/// <summary>A key or value serializer threw; the inner exception is what it threw.</summary>
public sealed class SerializationException(string message, Exception innerException)
    : KafkaException(message, ErrorCode.InvalidRecord, isRetriable: false, innerException);

/// <summary>
/// <c>buffer.memory</c> was full for longer than <c>max.block.ms</c> (or, with <c>TryProduce</c>,
/// at the moment of the call): records are produced faster than the cluster takes them.
/// </summary>
public sealed class BufferFullException(string message)
    : KafkaException(message, ErrorCode.RequestTimedOut, isRetriable: true);

/// <summary>The serialized record is larger than <c>max.request.size</c> (or <c>buffer.memory</c>).</summary>
public sealed class RecordTooLargeException(string message)
    : KafkaException(message, ErrorCode.MessageTooLarge, isRetriable: false);

/// <summary>The producer was disposed before the record could be delivered, or a call came after.</summary>
public sealed class ProducerClosedException(string message)
    : KafkaException(message, ErrorCode.UnknownServerError, isRetriable: false);

/// <summary>
/// The producer hit an error it cannot recover from (for example, the cluster refuses it a
/// producer id): every record not yet delivered fails with this error, and so does every later
/// call. Dispose the producer; a new one may work once the cause is fixed.
/// </summary>
public sealed class ProducerFatalException(string message, KafkaException cause)
    : KafkaException(message, cause.ErrorCode, isRetriable: false, cause)
{
    /// <summary>Always true: the producer cannot go on.</summary>
    public override bool IsFatal => true;
}
