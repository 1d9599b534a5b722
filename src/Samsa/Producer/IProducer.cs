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
    /// A snapshot of the producer's state for health checks: its fatal error, if any, how much of
    /// <c>buffer.memory</c> is in use, and how its broker connections fare. Cheap, never blocks on
    /// I/O and changes nothing; connections open on first use, so a producer that has not produced
    /// yet reports none.
    /// </summary>
    ProducerHealth GetHealth();
}
