namespace Samsa;

/// <summary>
/// A record without its destination, shaped like Confluent.Kafka's <c>Message</c> so that
/// existing code ports unchanged: <c>ProduceAsync(topic, new Message&lt;K, V&gt; { Key = k, Value = v })</c>.
/// </summary>
public sealed class Message<TKey, TValue>
{
    /// <summary>The key; a null key is sent as a null key and is spread by the sticky partitioner.</summary>
    public TKey? Key { get; set; }

    /// <summary>The value; null is sent as a null value (a tombstone on a compacted topic).</summary>
    public TValue? Value { get; set; }

    /// <summary>The record's headers, or null for none.</summary>
    public Headers? Headers { get; set; }

    /// <summary>Leave as <see cref="Timestamp.Default"/> to stamp the record when it is produced.</summary>
    public Timestamp Timestamp { get; set; }
}
