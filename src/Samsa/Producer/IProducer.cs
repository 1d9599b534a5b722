namespace Samsa;

/// <summary>
/// A Kafka producer. Thread-safe: any number of threads may produce at once. Dispose it to
/// flush (bounded by a timeout) and close its connections; when disposing returns, every record
/// has its outcome. Disposed from a delivery handler, it starts closing in the background and
/// returns at once, since the close waits for reports that only the handler's thread can make.
/// </summary>
public interface IProducer<TKey, TValue> : IDisposable, IAsyncDisposable
{
    /// <summary>The client id this producer sends to brokers.</summary>
    string Name { get; }

    /// <summary>
    /// Produces a record and completes when the broker has acknowledged it (per <c>acks</c>), or
    /// fails with a <see cref="KafkaException"/> saying why. A bad record (topic, partition,
    /// serializer, size) fails alone, through the returned task. Key and value are serialized during
    /// the call, so the caller may reuse its objects and arrays once it returns. When <c>buffer.memory</c>
    /// is full it waits asynchronously, up to <c>max.block.ms</c>, then fails with <see cref="BufferFullException"/>.
    /// </summary>
    /// <param name="record">The record.</param>
    /// <param name="cancellationToken">
    /// Ends the wait, never an accepted record. Cancelled before the call, or while the record still
    /// waits for buffer space, it withdraws the record: it is never sent. Cancelled later, the task
    /// ends with <see cref="OperationCanceledException"/> at once, but the record is still delivered or
    /// failed by the producer, and nobody is told which: a failure is only logged (event 1007, warning).
    /// To learn every record's outcome, do not cancel, or use
    /// <see cref="Produce(ProducerRecord{TKey, TValue}, Action{DeliveryReport})"/> with a delivery handler.
    /// A token that cannot be cancelled costs nothing; one that can costs a small allocation per call.
    /// </param>
    ValueTask<DeliveryResult> ProduceAsync(ProducerRecord<TKey, TValue> record, CancellationToken cancellationToken = default);

    /// <summary>The Confluent.Kafka shape of <see cref="ProduceAsync(ProducerRecord{TKey, TValue}, CancellationToken)"/>.</summary>
    ValueTask<DeliveryResult> ProduceAsync(string topic, Message<TKey, TValue> message, CancellationToken cancellationToken = default);

    /// <summary>
    /// Produces a record without waiting for its acknowledgement; <paramref name="deliveryHandler"/>
    /// is called once with its outcome, on the producer's reporting thread, in send order per
    /// partition. Errors in the record itself are reported to the handler before this method returns.
    /// A record for a topic whose metadata is not known yet waits in the background, without blocking.
    /// Only when <c>buffer.memory</c> is full does this method block the calling thread, as the Java
    /// client's <c>send</c> does, until reported records free space or <c>max.block.ms</c> passes
    /// (then the handler gets a <see cref="BufferFullException"/>). Called from a delivery handler, it
    /// never blocks: only the handler's thread frees buffer space, so a full buffer fails the record at
    /// once with a <see cref="BufferFullException"/>. Use <see cref="TryProduce"/> to never block, or
    /// <see cref="ProduceAsync(ProducerRecord{TKey, TValue}, CancellationToken)"/> to wait asynchronously.
    /// </summary>
    /// <exception cref="InvalidOperationException">The producer has an <see cref="Serialization.IAsyncSerializer{T}"/>, which only ProduceAsync awaits.</exception>
    void Produce(ProducerRecord<TKey, TValue> record, Action<DeliveryReport>? deliveryHandler = null);

    /// <summary>
    /// Like <see cref="Produce(ProducerRecord{TKey, TValue}, Action{DeliveryReport})"/>, but never
    /// blocks: returns false, reporting nothing, when <c>buffer.memory</c> is full at this moment.
    /// Every other outcome, success or error, goes to the handler.
    /// </summary>
    /// <exception cref="InvalidOperationException">The producer has an <see cref="Serialization.IAsyncSerializer{T}"/>, which only ProduceAsync awaits.</exception>
    bool TryProduce(ProducerRecord<TKey, TValue> record, Action<DeliveryReport>? deliveryHandler = null);

    /// <summary>The Confluent.Kafka shape of <see cref="Produce(ProducerRecord{TKey, TValue}, Action{DeliveryReport})"/>.</summary>
    void Produce(string topic, Message<TKey, TValue> message, Action<DeliveryReport>? deliveryHandler = null);

    /// <summary>
    /// Sends every record produced before this call at once (ignoring <c>linger.ms</c>) and
    /// completes when all of them have been reported. Records produced after the call are not waited for.
    /// "Reported" means their delivery handlers have returned and their <c>ProduceAsync</c> value tasks
    /// are complete; a <see cref="Task"/> made from one with <c>AsTask()</c> completes on the thread pool,
    /// possibly an instant later. From a delivery handler, do not block on the returned task: it can
    /// complete only after the handler has returned.
    /// </summary>
    Task FlushAsync(CancellationToken cancellationToken = default);

    /// <summary>Like <see cref="FlushAsync"/>, blocking; returns false if <paramref name="timeout"/> passed first.</summary>
    /// <exception cref="InvalidOperationException">Called from a delivery handler, whose thread the flush would wait for.</exception>
    bool Flush(TimeSpan timeout);

    /// <summary>
    /// Closes the producer as disposing does, waiting at most <paramref name="timeout"/> (instead of the builder's
    /// close timeout) for the records produced so far to be delivered; those still outstanding then fail with
    /// <see cref="ProducerClosedException"/>. <see cref="TimeSpan.Zero"/> fails them at once, as Java's
    /// <c>close(Duration.ZERO)</c> does. If the producer is already closing, its wait is shortened to
    /// <paramref name="timeout"/> from now when that ends it sooner. Completes once every record has its outcome.
    /// </summary>
    /// <param name="timeout">How long to wait for outstanding records; not negative.</param>
    ValueTask CloseAsync(TimeSpan timeout);

    /// <summary>
    /// A snapshot of the producer's state for health checks: its fatal error, if any, how much of
    /// <c>buffer.memory</c> is in use, and how its broker connections fare. Cheap, never blocks on
    /// I/O and changes nothing; connections open on first use, so a producer that has not produced
    /// yet reports none.
    /// </summary>
    ProducerHealth GetHealth();

    /// <summary>
    /// Prepares a transactional producer (<c>transactional.id</c> set): finds the transaction coordinator and registers
    /// the id with InitProducerId, which fences any older producer with the same id and completes or aborts the
    /// transaction it left open. Call it once, before the first <see cref="BeginTransaction"/>. Retriable coordinator
    /// errors are retried until <paramref name="cancellationToken"/> ends the wait; cancelled, it may be called again.
    /// </summary>
    /// <exception cref="TransactionStateException">The producer has no <c>transactional.id</c>, or was initialized already.</exception>
    /// <exception cref="ProducerFencedException">A newer producer with the same id exists.</exception>
    /// <exception cref="KafkaAuthorizationException">The principal may not use this transactional id (fatal).</exception>
    ValueTask InitTransactionsAsync(CancellationToken cancellationToken = default);

    /// <summary>Blocking <see cref="InitTransactionsAsync"/>; throws <see cref="KafkaTimeoutException"/> when <paramref name="timeout"/> passes first (call it again to go on waiting).</summary>
    void InitTransactions(TimeSpan timeout);

    /// <summary>
    /// Starts a transaction: records produced from now on, and offsets sent with <see cref="SendOffsetsToTransactionAsync"/>,
    /// become visible to read_committed consumers together at <see cref="CommitTransactionAsync"/>, or never, at
    /// <see cref="AbortTransactionAsync"/>. Local only: nothing is sent until the first record or offsets.
    /// </summary>
    /// <exception cref="TransactionStateException">Not initialized, or a transaction is already open or ending.</exception>
    void BeginTransaction();

    /// <summary>
    /// Commits the open transaction: first waits until every record produced in it is acknowledged (a flush), then
    /// asks the coordinator to commit (EndTxn). If any record of the transaction failed, nothing is committed and this
    /// throws an exception with <see cref="KafkaException.TxnRequiresAbort"/> set: abort, then start again. Cancelled or
    /// timed out, the commit goes on in the background; calling it again waits for the same commit.
    /// </summary>
    /// <exception cref="TransactionStateException">No transaction is open.</exception>
    /// <exception cref="TransactionAbortableException">A record or the offsets of the transaction failed; abort it.</exception>
    /// <exception cref="TransactionTimedOutException">The coordinator aborted the transaction after <c>transaction.timeout.ms</c>; abort it.</exception>
    /// <exception cref="ProducerFencedException">A newer producer with the same id took over (fatal).</exception>
    ValueTask CommitTransactionAsync(CancellationToken cancellationToken = default);

    /// <summary>Blocking <see cref="CommitTransactionAsync"/>; throws <see cref="KafkaTimeoutException"/> when <paramref name="timeout"/> passes first (call it again to go on waiting).</summary>
    void CommitTransaction(TimeSpan timeout);

    /// <summary>
    /// Aborts the open transaction: records of it not yet sent fail with <see cref="TransactionAbortedException"/> and
    /// are never sent; those already sent are waited for, then the coordinator writes the abort markers, so none of it
    /// becomes visible to read_committed consumers. Also the way out of a transaction whose commit failed with
    /// <see cref="KafkaException.TxnRequiresAbort"/>. Cancelled or timed out, the abort goes on; call it again to wait.
    /// </summary>
    /// <exception cref="TransactionStateException">No transaction is open.</exception>
    /// <exception cref="ProducerFencedException">A newer producer with the same id took over (fatal).</exception>
    ValueTask AbortTransactionAsync(CancellationToken cancellationToken = default);

    /// <summary>Blocking <see cref="AbortTransactionAsync"/>; throws <see cref="KafkaTimeoutException"/> when <paramref name="timeout"/> passes first (call it again to go on waiting).</summary>
    void AbortTransaction(TimeSpan timeout);

    /// <summary>
    /// Adds a consumer group's positions to the open transaction, so that they are committed with its records, or not at
    /// all (the consume-transform-produce pattern: exactly once from input to output). Each offset is the next one to
    /// consume (last processed + 1). With the group's member id and generation, the coordinator refuses the commit from a
    /// consumer that lost its partitions (the transaction must then abort).
    /// </summary>
    /// <exception cref="TransactionStateException">No transaction is open.</exception>
    /// <exception cref="TransactionAbortableException">The coordinator refused the offsets; abort the transaction.</exception>
    ValueTask SendOffsetsToTransactionAsync(IEnumerable<TopicPartitionOffset> offsets, ConsumerGroupMetadata group, CancellationToken cancellationToken = default);

    /// <summary>Blocking <see cref="SendOffsetsToTransactionAsync"/>; throws <see cref="KafkaTimeoutException"/> when <paramref name="timeout"/> passes first (the offsets go on being sent in the background, and the commit waits for them).</summary>
    void SendOffsetsToTransaction(IEnumerable<TopicPartitionOffset> offsets, ConsumerGroupMetadata group, TimeSpan timeout);
}
