using Samsa.Protocol;
using Samsa.Records;
using Samsa.Serialization;

namespace Samsa.Producer.Internal;

/// <summary>
/// The typed front of the producer: checks the record, serializes key and value, picks the
/// partition and appends to that partition's accumulator. Everything after that is the engine's.
/// </summary>
internal sealed class KafkaProducer<TKey, TValue> : IProducer<TKey, TValue>
{
    // Serialization goes into per-thread scratch buffers that are copied into the batch, so no
    // record allocates its own byte[] (the copy is cheaper than the allocation and GC it replaces).
    [ThreadStatic]
    private static PooledBufferWriter? t_keyBuffer;

    [ThreadStatic]
    private static PooledBufferWriter? t_valueBuffer;

    private readonly ProducerEngine _engine;
    private readonly ISerializer<TKey> _keySerializer;
    private readonly ISerializer<TValue> _valueSerializer;
    private readonly IPartitioner? _partitioner;
    private readonly StickyPartitioner _sticky;
    private readonly TimeSpan _closeTimeout;

    public KafkaProducer(ProducerEngine engine, ISerializer<TKey> keySerializer, ISerializer<TValue> valueSerializer, IPartitioner? partitioner, TimeSpan closeTimeout)
    {
        _engine = engine;
        _keySerializer = keySerializer;
        _valueSerializer = valueSerializer;
        _partitioner = partitioner;
        _closeTimeout = closeTimeout;
        _sticky = new StickyPartitioner(engine.Options.BatchSize);
    }

    public string Name => _engine.ClientId;

    public ValueTask<DeliveryResult> ProduceAsync(string topic, Message<TKey, TValue> message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        return ProduceAsync(ToRecord(topic, message), cancellationToken);
    }

    public ValueTask<DeliveryResult> ProduceAsync(ProducerRecord<TKey, TValue> record, CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<DeliveryResult>(cancellationToken);
        }

        if (CheckRecord(record) is { } invalid)
        {
            return ValueTask.FromException<DeliveryResult>(invalid);
        }

        var promise = DeliveryPromise.Rent();
        var topic = _engine.GetTopic(record.Topic);
        if (!topic.IsReady)
        {
            AppendWhenResolved(topic, record, promise, null);
            return promise.Task;
        }

        var appendError = Append(topic, record, promise, null, heldBytes: -1, out var blockedBytes);
        if (blockedBytes > 0)
        {
            return new ValueTask<DeliveryResult>(ProduceWhenBufferFreesAsync(topic, record, promise, blockedBytes, cancellationToken));
        }

        if (appendError is not null)
        {
            promise.Fail(appendError);
        }

        return promise.Task;
    }

    public void Produce(string topic, Message<TKey, TValue> message, Action<DeliveryReport>? deliveryHandler = null)
    {
        ArgumentNullException.ThrowIfNull(message);
        Produce(ToRecord(topic, message), deliveryHandler);
    }

    public void Produce(ProducerRecord<TKey, TValue> record, Action<DeliveryReport>? deliveryHandler = null) =>
        ProduceWithHandler(record, deliveryHandler, blockWhenFull: true);

    public bool TryProduce(ProducerRecord<TKey, TValue> record, Action<DeliveryReport>? deliveryHandler = null) =>
        ProduceWithHandler(record, deliveryHandler, blockWhenFull: false);

    public Task FlushAsync(CancellationToken cancellationToken = default) => _engine.FlushAsync(cancellationToken);

    public bool Flush(TimeSpan timeout)
    {
        try
        {
            return _engine.FlushAsync(CancellationToken.None).Wait(timeout);
        }
        catch (AggregateException e) when (e.InnerException is not null)
        {
            throw e.InnerException;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_engine.IsClosed)
        {
            return;
        }

        // Give what was produced a bounded chance to go out, then fail the rest: nothing hangs.
        try
        {
            await _engine.FlushAsync(CancellationToken.None).WaitAsync(_closeTimeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }

        await _engine.DisposeAsync().ConfigureAwait(false);
    }

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    private static ProducerRecord<TKey, TValue> ToRecord(string topic, Message<TKey, TValue> message) =>
        new(topic, message.Key, message.Value) { Headers = message.Headers, Timestamp = message.Timestamp };

    private KafkaException? CheckRecord(in ProducerRecord<TKey, TValue> record)
    {
        if (_engine.IsClosed)
        {
            return new ProducerClosedException("The producer has been disposed; create a new one to produce.");
        }

        if (_engine.FatalError is { } fatal)
        {
            return fatal;
        }

        if (string.IsNullOrEmpty(record.Topic))
        {
            return new InvalidRecordException("The record has no topic (null or empty); set ProducerRecord.Topic.");
        }

        if (record.Partition is < 0)
        {
            return new InvalidRecordException($"Partition {record.Partition} is negative; partitions are numbered from 0, or leave Partition null to let the partitioner choose.")
            {
                Topic = record.Topic,
                Partition = record.Partition,
            };
        }

        return null;
    }

    private bool ProduceWithHandler(ProducerRecord<TKey, TValue> record, Action<DeliveryReport>? deliveryHandler, bool blockWhenFull)
    {
        if (CheckRecord(record) is { } invalid)
        {
            ReportFailure(record, deliveryHandler, invalid);
            return true;
        }

        var topic = _engine.GetTopic(record.Topic);
        if (!topic.IsReady)
        {
            AppendWhenResolved(topic, record, null, deliveryHandler);
            return true;
        }

        var error = Append(topic, record, null, deliveryHandler, heldBytes: -1, out var blockedBytes);
        if (blockedBytes > 0)
        {
            if (!blockWhenFull)
            {
                return false;
            }

            // buffer.memory is full: wait for reported batches to free it, as the Java client's send() does.
            error = _engine.Memory.Reserve(blockedBytes, _engine.Options.MaxBlock)
                ? Append(topic, record, null, deliveryHandler, blockedBytes, out _)
                : BufferFull(record);
        }

        if (error is not null)
        {
            ReportFailure(record, deliveryHandler, error);
        }

        return true;
    }

    // A method of its own: a lambda in the callers would make them allocate its closure on every
    // call, fast path included.
    private void AppendWhenResolved(TopicState topic, ProducerRecord<TKey, TValue> record, DeliveryPromise? promise, Action<DeliveryReport>? deliveryHandler)
    {
        // Never block the caller for metadata: the record waits in the topic's queue, and is then
        // appended even past buffer.memory, since it was accepted already.
        topic.WhenResolved((resolved, failure) =>
        {
            if ((failure ?? Append(resolved, record, promise, deliveryHandler, heldBytes: 0, out _)) is not { } error)
            {
                return;
            }

            if (promise is not null)
            {
                promise.Fail(error);
            }
            else
            {
                ReportFailure(record, deliveryHandler, error);
            }
        });
    }

    private async Task<DeliveryResult> ProduceWhenBufferFreesAsync(TopicState topic, ProducerRecord<TKey, TValue> record, DeliveryPromise promise, int bytes, CancellationToken cancellationToken)
    {
        if (!await _engine.Memory.ReserveAsync(bytes, _engine.Options.MaxBlock, cancellationToken).ConfigureAwait(false))
        {
            throw BufferFull(record);
        }

        if (Append(topic, record, promise, null, bytes, out _) is { } error)
        {
            throw error;
        }

        return await promise.Task.ConfigureAwait(false);
    }

    private BufferFullException BufferFull(in ProducerRecord<TKey, TValue> record) => new(
        $"buffer.memory ({_engine.Options.BufferMemory} bytes) stayed full for max.block.ms ({_engine.Options.MaxBlock.TotalMilliseconds:0} ms): records are produced faster than the cluster accepts them. Produce more slowly, or raise buffer.memory or max.block.ms.")
    {
        Topic = record.Topic,
        Partition = record.Partition,
    };

    private static void ReportFailure(in ProducerRecord<TKey, TValue> record, Action<DeliveryReport>? deliveryHandler, KafkaException error) =>
        deliveryHandler?.Invoke(new DeliveryReport(new DeliveryResult(record.Topic ?? "", record.Partition ?? -1, -1, record.Timestamp), error));

    /// <summary>
    /// Serializes, partitions and appends; returns the error if this record cannot be produced.
    /// With <paramref name="heldBytes"/> &lt; 0 it reserves buffer memory without waiting and, if
    /// the buffer is full, appends nothing and sets <paramref name="blockedBytes"/> to what it needs;
    /// otherwise the caller already holds <paramref name="heldBytes"/> (released here on error).
    /// </summary>
    private KafkaException? Append(TopicState topic, in ProducerRecord<TKey, TValue> record, DeliveryPromise? promise, Action<DeliveryReport>? handler, int heldBytes, out int blockedBytes)
    {
        var error = AppendCore(topic, record, promise, handler, heldBytes, out blockedBytes);
        if (error is not null && heldBytes > 0)
        {
            _engine.Memory.Release(heldBytes);
        }

        return error;
    }

    private KafkaException? AppendCore(TopicState topic, in ProducerRecord<TKey, TValue> record, DeliveryPromise? promise, Action<DeliveryReport>? handler, int heldBytes, out int blockedBytes)
    {
        blockedBytes = 0;
        var keyBuffer = t_keyBuffer ??= new PooledBufferWriter(256);
        var valueBuffer = t_valueBuffer ??= new PooledBufferWriter(1024);
        keyBuffer.Reset();
        valueBuffer.Reset();

        var keyIsNull = record.Key is null;
        var valueIsNull = record.Value is null;
        if (!keyIsNull && Serialize(_keySerializer, record.Key!, keyBuffer, MessageComponentType.Key, record) is { } keyError)
        {
            return keyError;
        }

        if (!valueIsNull && Serialize(_valueSerializer, record.Value!, valueBuffer, MessageComponentType.Value, record) is { } valueError)
        {
            return valueError;
        }

        var key = keyBuffer.WrittenSpan;
        var value = valueBuffer.WrittenSpan;
        var info = topic.Info;
        var partitionCount = info.Partitions.Length;
        if (record.Partition is { } explicitPartition && explicitPartition >= partitionCount)
        {
            return new InvalidRecordException(
                $"Partition {explicitPartition} does not exist: topic '{record.Topic}' has {partitionCount} partition(s), numbered 0 to {partitionCount - 1}.")
            {
                Topic = record.Topic,
                Partition = explicitPartition,
            };
        }

        int partition;
        if (record.Partition is null && _partitioner is not null)
        {
            partition = _partitioner.Partition(record.Topic, key, keyIsNull, partitionCount);
            if ((uint)partition >= (uint)partitionCount)
            {
                return new InvalidRecordException(
                    $"The partitioner {_partitioner.GetType().Name} chose partition {partition}, but topic '{record.Topic}' has partitions 0 to {partitionCount - 1}.")
                {
                    Topic = record.Topic,
                    Partition = partition,
                };
            }
        }
        else
        {
            partition = DefaultPartitioner.Partition(record.Topic, record.Partition, key, keyIsNull, partitionCount, _engine.Options.PartitionerIgnoreKeys, _sticky, info.AvailablePartitions, new AccumulatorLoad(topic.Partitions, _engine.Options));
        }

        var size = RecordBatchBuilder.EstimateRecordSize(key, keyIsNull, value, valueIsNull, record.Headers);
        if (size > _engine.Options.MaxRequestSize)
        {
            return new RecordTooLargeException(
                $"The record for topic '{record.Topic}' is {size} bytes when encoded, more than max.request.size ({_engine.Options.MaxRequestSize}). Send a smaller record or raise max.request.size (and the broker's message.max.bytes).")
            {
                Topic = record.Topic,
                Partition = partition,
            };
        }

        if (size > _engine.Memory.Limit)
        {
            return new RecordTooLargeException(
                $"The record for topic '{record.Topic}' is {size} bytes when encoded, more than buffer.memory ({_engine.Memory.Limit}). Send a smaller record or raise buffer.memory.")
            {
                Topic = record.Topic,
                Partition = partition,
            };
        }

        if (heldBytes < 0)
        {
            if (!_engine.Memory.TryReserve(size))
            {
                blockedBytes = size;
                return null;
            }
        }
        else if (size > heldBytes)
        {
            _engine.Memory.ForceReserve(size - heldBytes);
        }
        else if (size < heldBytes)
        {
            _engine.Memory.Release(heldBytes - size);
        }

        var timestampMs = record.Timestamp.Type == TimestampType.NotAvailable ? DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() : record.Timestamp.UnixTimestampMs;
        var accumulator = topic.Partitions[partition];
        if (accumulator.Append(timestampMs, key, keyIsNull, value, valueIsNull, record.Headers, new PendingDelivery(promise, handler, timestampMs), size))
        {
            accumulator.Sender?.Wake();
        }

        if (record.Partition is null && _partitioner is null && (keyIsNull || _engine.Options.PartitionerIgnoreKeys))
        {
            // KIP-794 counts the bytes the record adds to its batch, not a lone batch's header.
            _sticky.OnAppended(record.Topic, partition, size - RecordBatchBuilder.HeaderSize);
        }

        return null;
    }

    private static SerializationException? Serialize<T>(ISerializer<T> serializer, T value, PooledBufferWriter output, MessageComponentType component, in ProducerRecord<TKey, TValue> record)
    {
        try
        {
            serializer.Serialize(value, output, new SerializationContext(component, record.Topic, record.Headers));
            return null;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            var which = component == MessageComponentType.Key ? "key" : "value";
            return new SerializationException(
                $"The {which} serializer ({serializer.GetType().Name}) threw for a record of topic '{record.Topic}': {e.Message}", e)
            {
                Topic = record.Topic,
                Partition = record.Partition,
            };
        }
    }
}
