namespace Samsa;

/// <summary>
/// A Kafka producer. Thread-safe: any number of threads may produce at once. Dispose it to
/// flush (bounded by a timeout) and close its connections.
/// </summary>
public interface IProducer<TKey, TValue> : IDisposable, IAsyncDisposable
{
    /// <summary>The client id this producer sends to brokers.</summary>
    string Name { get; }

    /// <summary>
    /// Produces a record and completes when the broker has acknowledged it (per <c>acks</c>), or
    /// fails with a <see cref="KafkaException"/> saying why. A bad record (topic, partition,
    /// serializer, size) fails alone, through the returned task. When <c>buffer.memory</c> is full
    /// it waits asynchronously, up to <c>max.block.ms</c>, then fails with <see cref="BufferFullException"/>.
    /// </summary>
    /// <param name="record">The record.</param>
    /// <param name="cancellationToken">
    /// Checked when the call is made, and while waiting for buffer space: it withdraws a record not
    /// yet accepted. Once accepted, the record is delivered or failed by the producer whatever the
    /// token says; the token does not stop the wait for its acknowledgement.
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
    /// (then the handler gets a <see cref="BufferFullException"/>). Use <see cref="TryProduce"/> to
    /// never block, or <see cref="ProduceAsync(ProducerRecord{TKey, TValue}, CancellationToken)"/> to wait asynchronously.
    /// </summary>
    void Produce(ProducerRecord<TKey, TValue> record, Action<DeliveryReport>? deliveryHandler = null);

    /// <summary>
    /// Like <see cref="Produce(ProducerRecord{TKey, TValue}, Action{DeliveryReport})"/>, but never
    /// blocks: returns false, reporting nothing, when <c>buffer.memory</c> is full at this moment.
    /// Every other outcome, success or error, goes to the handler.
    /// </summary>
    bool TryProduce(ProducerRecord<TKey, TValue> record, Action<DeliveryReport>? deliveryHandler = null);

    /// <summary>The Confluent.Kafka shape of <see cref="Produce(ProducerRecord{TKey, TValue}, Action{DeliveryReport})"/>.</summary>
    void Produce(string topic, Message<TKey, TValue> message, Action<DeliveryReport>? deliveryHandler = null);

    /// <summary>
    /// Sends every record produced before this call at once (ignoring <c>linger.ms</c>) and
    /// completes when all of them have been reported. Records produced after the call are not waited for.
    /// "Reported" means their delivery handlers have returned and their <c>ProduceAsync</c> value tasks
    /// are complete; a <see cref="Task"/> made from one with <c>AsTask()</c> completes on the thread pool,
    /// possibly an instant later.
    /// </summary>
    Task FlushAsync(CancellationToken cancellationToken = default);

    /// <summary>Like <see cref="FlushAsync"/>, blocking; returns false if <paramref name="timeout"/> passed first.</summary>
    bool Flush(TimeSpan timeout);
}
