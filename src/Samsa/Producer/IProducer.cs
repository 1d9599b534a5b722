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
    /// serializer, size) fails alone, through the returned task.
    /// </summary>
    /// <param name="record">The record.</param>
    /// <param name="cancellationToken">
    /// Stops waiting for the topic's metadata. Once the record is appended to a batch it is
    /// delivered or failed by the producer whatever the token says.
    /// </param>
    ValueTask<DeliveryResult> ProduceAsync(ProducerRecord<TKey, TValue> record, CancellationToken cancellationToken = default);

    /// <summary>The Confluent.Kafka shape of <see cref="ProduceAsync(ProducerRecord{TKey, TValue}, CancellationToken)"/>.</summary>
    ValueTask<DeliveryResult> ProduceAsync(string topic, Message<TKey, TValue> message, CancellationToken cancellationToken = default);

    /// <summary>
    /// Produces a record without waiting; <paramref name="deliveryHandler"/> is called once with
    /// its outcome, on the producer's reporting thread, in send order per partition. Errors in
    /// the record itself are reported to the handler before this method returns. This method never
    /// blocks: a record for a topic whose metadata is not known yet waits in the background.
    /// </summary>
    void Produce(ProducerRecord<TKey, TValue> record, Action<DeliveryReport>? deliveryHandler = null);

    /// <summary>The Confluent.Kafka shape of <see cref="Produce(ProducerRecord{TKey, TValue}, Action{DeliveryReport})"/>.</summary>
    void Produce(string topic, Message<TKey, TValue> message, Action<DeliveryReport>? deliveryHandler = null);

    /// <summary>
    /// Sends every record produced before this call at once (ignoring <c>linger.ms</c>) and
    /// completes when all of them have been reported. Records produced after the call are not waited for.
    /// </summary>
    Task FlushAsync(CancellationToken cancellationToken = default);

    /// <summary>Like <see cref="FlushAsync"/>, blocking; returns false if <paramref name="timeout"/> passed first.</summary>
    bool Flush(TimeSpan timeout);
}
