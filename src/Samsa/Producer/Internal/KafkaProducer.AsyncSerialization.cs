using Samsa.Protocol;
using Samsa.Serialization;

namespace Samsa.Producer.Internal;

/// <summary>
/// ProduceAsync with an <see cref="IAsyncSerializer{T}"/>: the record is serialized into buffers of its own (the
/// per-thread scratch buffers cannot be held across an await), then appended like any other. Serializations that
/// complete at once append at once; the others queue their appends in call order, so a caller's records keep
/// their order whichever serialization finishes first.
/// </summary>
internal sealed partial class KafkaProducer<TKey, TValue>
{
    private readonly IAsyncSerializer<TKey>? _asyncKeySerializer;
    private readonly IAsyncSerializer<TValue>? _asyncValueSerializer;
    private readonly bool _hasAsyncSerializer;
    private readonly object _appendOrderGate = new();

    // The append of the last record whose serialization had to wait; a later record appends after it.
    private Task _appendTail = Task.CompletedTask;

    private void ThrowIfAsyncSerializer()
    {
        if (_hasAsyncSerializer)
        {
            throw new InvalidOperationException(
                "This producer has an asynchronous serializer (IAsyncSerializer), which Produce and TryProduce cannot await without blocking a thread. "
                + "Use ProduceAsync, or give the builder serializer.AsSyncOverAsync() to accept blocking.");
        }
    }

    private ValueTask<DeliveryResult> ProduceWithAsyncSerializers(ProducerRecord<TKey, TValue> record, CancellationToken cancellationToken)
    {
        // In a transaction the record counts as appending from the call on, through its serialization, so that a
        // commit started meanwhile waits for it rather than refuse it.
        var transaction = _engine.Transactions;
        if (transaction?.TryBeginAppend(record.Topic) is { } refusal)
        {
            return ValueTask.FromException<DeliveryResult>(refusal);
        }

        // Ends the append count exactly once: once appended at once, or at the end of its turn.
        return ProduceWithAsyncSerializers(record, transaction, cancellationToken);
    }

    private ValueTask<DeliveryResult> ProduceWithAsyncSerializers(ProducerRecord<TKey, TValue> record, TransactionManager? transaction, CancellationToken cancellationToken)
    {
        var keyBuffer = new PooledBufferWriter(256);
        var valueBuffer = new PooledBufferWriter(1024);
        var key = record.Key is null ? default : Start(_asyncKeySerializer, _keySerializer, record.Key, keyBuffer, MessageComponentType.Key, record, cancellationToken);
        var value = record.Value is null ? default : Start(_asyncValueSerializer, _valueSerializer, record.Value, valueBuffer, MessageComponentType.Value, record, cancellationToken);
        if (key.IsCompletedSuccessfully && value.IsCompletedSuccessfully && Volatile.Read(ref _appendTail).IsCompleted)
        {
            try
            {
                key.GetAwaiter().GetResult();
                value.GetAwaiter().GetResult();
                return Append(record, keyBuffer, valueBuffer, cancellationToken);
            }
            finally
            {
                keyBuffer.Dispose();
                valueBuffer.Dispose();
                transaction?.EndAppend();
            }
        }

        return AppendInTurnAsync(record, keyBuffer, key, valueBuffer, value, transaction, cancellationToken);
    }

    private async ValueTask<DeliveryResult> AppendInTurnAsync(
        ProducerRecord<TKey, TValue> record,
        PooledBufferWriter keyBuffer,
        ValueTask key,
        PooledBufferWriter valueBuffer,
        ValueTask value,
        TransactionManager? transaction,
        CancellationToken cancellationToken)
    {
        var turn = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task previous;
        lock (_appendOrderGate)
        {
            previous = _appendTail;
            _appendTail = turn.Task;
        }

        ValueTask<DeliveryResult> delivery;
        try
        {
            var keyFailure = await Complete(key, _asyncKeySerializer ?? (object)_keySerializer, MessageComponentType.Key, record).ConfigureAwait(false);
            var valueFailure = await Complete(value, _asyncValueSerializer ?? (object)_valueSerializer, MessageComponentType.Value, record).ConfigureAwait(false);
            await previous.ConfigureAwait(false);
            if ((keyFailure ?? valueFailure) is { } failure)
            {
                throw failure;
            }

            // Cancelled while serializing or waiting for its turn: withdrawn, never sent.
            cancellationToken.ThrowIfCancellationRequested();
            delivery = Append(record, keyBuffer, valueBuffer, cancellationToken);
        }
        finally
        {
            turn.SetResult();
            keyBuffer.Dispose();
            valueBuffer.Dispose();
            transaction?.EndAppend();
        }

        return await delivery.ConfigureAwait(false);
    }

    // Appends the serialized record; the bytes are copied (into the batch, or a waiting record's own
    // copy) before this returns, so the buffers can go.
    private ValueTask<DeliveryResult> Append(in ProducerRecord<TKey, TValue> record, PooledBufferWriter keyBuffer, PooledBufferWriter valueBuffer, CancellationToken cancellationToken)
    {
        var promise = DeliveryPromise.Rent();

        // The span starts at the append: the serializer's wait is the caller's, not the producer's.
        var telemetry = _engine.Telemetry.Begin(record.Topic, record.Key, record.Value is null, record.Headers);
        var error = AppendSerialized(record, keyBuffer.WrittenSpan, record.Key is null, valueBuffer.WrittenSpan, record.Value is null, promise, null, MemoryWait.Async, telemetry, out var waitingForMemory, out _);
        return DeliveryOf(record, promise, error, telemetry, waitingForMemory, cancellationToken);
    }

    // Runs the component's asynchronous serializer if it has one, else its synchronous one; a throw becomes a faulted task.
    private static ValueTask Start<T>(IAsyncSerializer<T>? asyncSerializer, ISerializer<T> serializer, T value, PooledBufferWriter output, MessageComponentType component, ProducerRecord<TKey, TValue> record, CancellationToken cancellationToken)
    {
        var context = new SerializationContext(component, record.Topic, record.Headers);
        try
        {
            if (asyncSerializer is null)
            {
                serializer.Serialize(value, output, context);
                return default;
            }

            return asyncSerializer.SerializeAsync(value, output, context, cancellationToken);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return ValueTask.FromException(e);
        }
    }

    private static async ValueTask<SerializationException?> Complete(ValueTask pending, object serializer, MessageComponentType component, ProducerRecord<TKey, TValue> record)
    {
        try
        {
            await pending.ConfigureAwait(false);
            return null;
        }
        catch (Exception e) when (e is not OperationCanceledException and not OutOfMemoryException)
        {
            return SerializationFailure(serializer, e, component, record);
        }
    }
}
