using System.Buffers;

namespace Samsa.Serialization;

/// <summary>
/// Turns a key or value into bytes when that may have to wait, for example for a schema registry to
/// assign a schema id: the bytes are written into the output of
/// <see cref="SerializeAsync"/>, as with <see cref="ISerializer{T}"/>, and the producer appends the
/// record once the returned task completes.
/// </summary>
/// <remarks>
/// <para>
/// Give it to <see cref="ProducerBuilder{TKey, TValue}.SetKeySerializer(IAsyncSerializer{TKey})"/> or
/// <see cref="ProducerBuilder{TKey, TValue}.SetValueSerializer(IAsyncSerializer{TValue})"/>. Only
/// <see cref="IProducer{TKey, TValue}.ProduceAsync(ProducerRecord{TKey, TValue}, CancellationToken)"/> awaits it;
/// <c>Produce</c> and <c>TryProduce</c> throw <see cref="InvalidOperationException"/> rather than block a
/// thread on it (wrap it with <see cref="AsyncSerializerExtensions.AsSyncOverAsync{T}"/> to accept that).
/// </para>
/// <para>
/// A serializer that completes synchronously (say, once the schema id is cached) costs little more than an
/// <see cref="ISerializer{T}"/>: return a completed <see cref="ValueTask"/>. Records whose serialization has to
/// wait are appended in call order all the same, so one caller's records to a partition keep their order.
/// The producer never calls it with a null reference (a null key or value is sent as null). The output buffer
/// is valid only until the returned task completes. Calls come from any thread: it must be thread-safe.
/// </para>
/// </remarks>
/// <typeparam name="T">The type serialized.</typeparam>
public interface IAsyncSerializer<in T>
{
    /// <summary>Writes <paramref name="value"/> to <paramref name="output"/> (GetSpan/Advance), possibly after waiting.</summary>
    /// <param name="value">The key or value; never null.</param>
    /// <param name="output">Where the bytes go; valid until the returned task completes.</param>
    /// <param name="context">Key or value, the topic, and the record's headers (which the serializer may add to).</param>
    /// <param name="cancellationToken">The token of the <c>ProduceAsync</c> call: cancelled, the record is withdrawn, never sent.</param>
    ValueTask SerializeAsync(T value, IBufferWriter<byte> output, SerializationContext context, CancellationToken cancellationToken);
}

/// <summary>Helpers for <see cref="IAsyncSerializer{T}"/>.</summary>
public static class AsyncSerializerExtensions
{
    /// <summary>
    /// An <see cref="ISerializer{T}"/> that blocks the calling thread until <paramref name="serializer"/> is done,
    /// so that <c>Produce</c> can use it. Prefer <c>ProduceAsync</c>: a blocked thread is a thread pool thread lost,
    /// and a serializer that needs the blocked thread's synchronization context deadlocks.
    /// </summary>
    /// <typeparam name="T">The type serialized.</typeparam>
    /// <param name="serializer">The asynchronous serializer to wrap.</param>
    public static ISerializer<T> AsSyncOverAsync<T>(this IAsyncSerializer<T> serializer) =>
        new SyncOverAsyncSerializer<T>(serializer ?? throw new ArgumentNullException(nameof(serializer)));

    private sealed class SyncOverAsyncSerializer<T>(IAsyncSerializer<T> inner) : ISerializer<T>
    {
        public void Serialize(T value, IBufferWriter<byte> output, in SerializationContext context)
        {
            var pending = inner.SerializeAsync(value, output, context, CancellationToken.None);
            if (pending.IsCompletedSuccessfully)
            {
                pending.GetAwaiter().GetResult();
                return;
            }

            pending.AsTask().GetAwaiter().GetResult();
        }
    }
}

/// <summary>Stands in for the synchronous serializer of a component that has an asynchronous one; never called.</summary>
internal sealed class AsyncOnlySerializer<T> : ISerializer<T>
{
    public static readonly AsyncOnlySerializer<T> Instance = new();

    public void Serialize(T value, IBufferWriter<byte> output, in SerializationContext context) =>
        throw new InvalidOperationException("This serializer is asynchronous; the producer awaits it in ProduceAsync only.");
}
