namespace Samsa;

/// <summary>
/// Another producer with the same <c>transactional.id</c> has started (InitTransactions), or the coordinator
/// moved the id to a newer epoch: this producer is a zombie. Nothing it sends any more becomes visible. Dispose it.
/// </summary>
public sealed class ProducerFencedException(string message, ErrorCode errorCode = ErrorCode.ProducerFenced)
    : KafkaException(message, errorCode, isRetriable: false)
{
    /// <summary>Always true: a fenced producer cannot go on.</summary>
    public override bool IsFatal => true;
}

/// <summary>
/// The cluster refused an operation for lack of permission (for example TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
/// or a topic or group the principal may not write to). <see cref="KafkaException.IsFatal"/> says whether the
/// producer can go on: a refused transactional id is fatal; a refused topic or group inside a transaction
/// only makes that transaction abort (<see cref="KafkaException.TxnRequiresAbort"/>).
/// </summary>
public sealed class KafkaAuthorizationException(string message, ErrorCode errorCode, bool isFatal)
    : KafkaException(message, errorCode, isRetriable: false)
{
    /// <inheritdoc/>
    public override bool IsFatal => isFatal;

    /// <inheritdoc/>
    public override bool TxnRequiresAbort => !isFatal;
}

/// <summary>
/// The current transaction cannot commit (a record in it failed, a partition or the offsets could not be added,
/// the coordinator answered TRANSACTION_ABORTABLE, KIP-691): abort it and start a new one. The producer can go on.
/// The inner exception, when there is one, is the first failure that made the transaction abortable.
/// </summary>
public sealed class TransactionAbortableException(string message, ErrorCode errorCode, Exception? innerException = null)
    : KafkaException(message, errorCode, isRetriable: false, innerException)
{
    /// <summary>Always true: abort the transaction.</summary>
    public override bool TxnRequiresAbort => true;
}

/// <summary>
/// The coordinator ended the transaction itself because it stayed open longer than <c>transaction.timeout.ms</c>
/// (TRANSACTION_TIMED_OUT, or INVALID_TXN_STATE for a transaction it already aborted). Nothing of it becomes
/// visible. Abort it (which then only resets the producer) and start a new one.
/// </summary>
public sealed class TransactionTimedOutException(string message, ErrorCode errorCode)
    : KafkaException(message, errorCode, isRetriable: false)
{
    /// <summary>Always true: abort the transaction.</summary>
    public override bool TxnRequiresAbort => true;
}

/// <summary>
/// The record was produced in a transaction that was aborted before it was sent: it was never sent and never
/// becomes visible. Its code is <see cref="ErrorCode.LocalTransactionAborted"/> (librdkafka reports such records
/// with <c>_PURGE_QUEUE</c>, the same number).
/// </summary>
public sealed class TransactionAbortedException(string message)
    : KafkaException(message, ErrorCode.LocalTransactionAborted, isRetriable: false);

/// <summary>
/// A transaction call, or a record, came in a state that does not allow it: for example a record produced by a
/// transactional producer outside <see cref="IProducer{TKey, TValue}.BeginTransaction"/> and the commit, or a commit
/// without a transaction. The message names the state. Nothing was sent; the producer's state is unchanged.
/// </summary>
public sealed class TransactionStateException(string message)
    : KafkaException(message, ErrorCode.InvalidTxnState, isRetriable: false);
