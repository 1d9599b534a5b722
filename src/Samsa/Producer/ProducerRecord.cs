namespace Samsa;

/// <summary>
/// A record to produce, with the Java client's fields: topic, optional partition, optional key,
/// value, headers and optional timestamp. A struct, so producing one allocates nothing.
/// </summary>
public readonly record struct ProducerRecord<TKey, TValue>
{
    /// <summary>A record with a value and no key.</summary>
    /// <param name="topic">The topic to produce to.</param>
    /// <param name="value">The value; null is sent as a null value.</param>
    public ProducerRecord(string topic, TValue? value)
    {
        Topic = topic;
        Value = value;
    }

    /// <summary>A record with a key and a value; the key chooses the partition (murmur2).</summary>
    /// <param name="topic">The topic to produce to.</param>
    /// <param name="key">The key; null is sent as a null key.</param>
    /// <param name="value">The value; null is sent as a null value.</param>
    public ProducerRecord(string topic, TKey? key, TValue? value)
    {
        Topic = topic;
        Key = key;
        Value = value;
    }

    /// <summary>A record for an explicit partition.</summary>
    /// <param name="topic">The topic to produce to.</param>
    /// <param name="partition">The partition; the partitioner is not asked.</param>
    /// <param name="key">The key; null is sent as a null key.</param>
    /// <param name="value">The value; null is sent as a null value.</param>
    public ProducerRecord(string topic, int partition, TKey? key, TValue? value)
    {
        Topic = topic;
        Partition = partition;
        Key = key;
        Value = value;
    }

    /// <summary>The topic to produce to.</summary>
    public string Topic { get; init; }

    /// <summary>An explicit partition; null lets the partitioner choose.</summary>
    public int? Partition { get; init; }

    /// <summary>The key; a null key is sent as a null key and is spread by the sticky partitioner.</summary>
    public TKey? Key { get; init; }

    /// <summary>The value; null is sent as a null value (a tombstone on a compacted topic).</summary>
    public TValue? Value { get; init; }

    /// <summary>The record's headers, or null for none.</summary>
    public Headers? Headers { get; init; }

    /// <summary>Leave as <see cref="Timestamp.Default"/> to stamp the record when it is produced.</summary>
    public Timestamp Timestamp { get; init; }
}
