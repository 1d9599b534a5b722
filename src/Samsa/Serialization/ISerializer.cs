using System.Buffers;

namespace Samsa.Serialization;

/// <summary>
/// Turns a key or value into bytes, written straight into the producer's buffer (no array per record).
/// </summary>
/// <remarks>
/// The producer never calls a serializer with a null reference: a null key or value is sent as a null key
/// or value on the wire (Kafka distinguishes null from empty), without involving the serializer.
/// Implementations must be thread-safe.
/// </remarks>
/// <typeparam name="T">The type serialized.</typeparam>
public interface ISerializer<in T>
{
    /// <summary>Writes <paramref name="value"/> to <paramref name="output"/> (GetSpan/Advance).</summary>
    void Serialize(T value, IBufferWriter<byte> output, in SerializationContext context);
}

/// <summary>Which part of a record is being serialized.</summary>
public enum MessageComponentType
{
    /// <summary>The record key.</summary>
    Key,

    /// <summary>The record value.</summary>
    Value,
}

/// <summary>What a serializer is told about the record it serializes.</summary>
/// <param name="Component">Whether this is the key or the value.</param>
/// <param name="Topic">The record's topic.</param>
/// <param name="Headers">The record's headers, if it has any; a serializer may add to them.</param>
public readonly record struct SerializationContext(MessageComponentType Component, string Topic, Headers? Headers);
