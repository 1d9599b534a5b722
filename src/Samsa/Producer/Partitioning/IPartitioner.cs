namespace Samsa;

/// <summary>
/// Chooses the partition of a record that was sent without one. Implementations must be thread-safe:
/// the producer calls them from any thread that sends.
/// </summary>
public interface IPartitioner
{
    /// <summary>
    /// Returns a partition in [0, <paramref name="partitionCount"/>). The producer checks the result and, if it
    /// is out of range, fails only that record.
    /// </summary>
    /// <param name="topic">The record's topic.</param>
    /// <param name="key">The serialized key; empty both for an empty key and for a null key.</param>
    /// <param name="keyIsNull">True when the record has no key (as opposed to an empty one).</param>
    /// <param name="partitionCount">The topic's partition count, at least 1.</param>
    int Partition(string topic, ReadOnlySpan<byte> key, bool keyIsNull, int partitionCount);
}
