namespace Samsa;

/// <summary>
/// Sees every record a producer sends and every outcome, like the Java client's <c>ProducerInterceptor</c>: to add
/// headers, count, audit or trace without touching the code that produces. Add interceptors with
/// <see cref="ProducerBuilder{TKey, TValue}.AddInterceptor"/>; several run in the order they were added.
/// </summary>
/// <remarks>
/// An interceptor must be thread-safe: <see cref="OnSend"/> runs on every thread that produces. An exception thrown
/// by either method is logged (<see cref="SamsaLogEvents.InterceptorOnSendFailed"/>,
/// <see cref="SamsaLogEvents.InterceptorOnAcknowledgementFailed"/>) and never fails the record. The producer does
/// not dispose its interceptors.
/// </remarks>
/// <typeparam name="TKey">The producer's key type.</typeparam>
/// <typeparam name="TValue">The producer's value type.</typeparam>
public interface IProducerInterceptor<TKey, TValue>
{
    /// <summary>
    /// Called on the producing thread for every record, before it is checked, serialized and partitioned. Returns the
    /// record to send: the one given, or a changed copy (e.g. <c>record with { Headers = ... }</c>). The next
    /// interceptor gets what this one returns. If this method throws, the record goes on as it was given to it.
    /// </summary>
    /// <param name="record">The record as the caller produced it, or as the interceptor before returned it.</param>
    /// <returns>The record to send.</returns>
    ProducerRecord<TKey, TValue> OnSend(ProducerRecord<TKey, TValue> record);

    /// <summary>
    /// Called once for every record that went through <see cref="OnSend"/>, when its outcome is known: acknowledged
    /// (<see cref="DeliveryReport.Error"/> null, with the partition and offset) or failed (with the error, and the
    /// partition if one was chosen, else -1). It runs before the record's delivery handler or awaiting caller is told,
    /// on the producer's reporting thread (or, for a record refused before it was queued, on the producing thread),
    /// so it must be quick and must not block.
    /// </summary>
    /// <param name="report">The record's outcome.</param>
    void OnAcknowledgement(DeliveryReport report);
}
