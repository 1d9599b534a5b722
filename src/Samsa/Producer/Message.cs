namespace Samsa;

/// <summary>
/// A record without its destination, shaped like Confluent.Kafka's <c>Message</c> so that
/// existing code ports unchanged: <c>ProduceAsync(topic, new Message&lt;K, V&gt; { Key = k, Value = v })</c>.
/// </summary>
public sealed class Message<TKey, TValue>
{
    public TKey? Key { get; set; }

    public TValue? Value { get; set; }

    public Headers? Headers { get; set; }

    /// <summary>Leave as <see cref="Timestamp.Default"/> to stamp the record when it is produced.</summary>
    public Timestamp Timestamp { get; set; }
}
