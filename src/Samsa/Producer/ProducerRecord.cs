namespace Samsa;

/// <summary>
/// A record to produce, with the Java client's fields: topic, optional partition, optional key,
/// value, headers and optional timestamp. A struct, so producing one allocates nothing.
/// </summary>
public readonly record struct ProducerRecord<TKey, TValue>
{
    public ProducerRecord(string topic, TValue? value)
    {
        Topic = topic;
        Value = value;
    }

    public ProducerRecord(string topic, TKey? key, TValue? value)
    {
        Topic = topic;
        Key = key;
        Value = value;
    }

    public ProducerRecord(string topic, int partition, TKey? key, TValue? value)
    {
        Topic = topic;
        Partition = partition;
        Key = key;
        Value = value;
    }

    public string Topic { get; init; }

    /// <summary>An explicit partition; null lets the partitioner choose.</summary>
    public int? Partition { get; init; }

    /// <summary>The key; a null key is sent as a null key and is spread by the sticky partitioner.</summary>
    public TKey? Key { get; init; }

    public TValue? Value { get; init; }

    public Headers? Headers { get; init; }

    /// <summary>Leave as <see cref="Timestamp.Default"/> to stamp the record when it is produced.</summary>
    public Timestamp Timestamp { get; init; }
}
