using Samsa.Diagnostics;
using Samsa.Protocol;
using Samsa.Records;
using Samsa.Serialization;

namespace Samsa.Producer.Internal;

/// <summary>
/// The typed front of the producer: checks the record, serializes key and value, picks the
/// partition and appends to that partition's accumulator. A record that cannot be appended at once
/// (its topic's metadata is unknown, or buffer.memory is full) becomes a <see cref="PendingRecord"/>
/// and is appended, in call order, when it can be. Everything after the append is the engine's.
/// </summary>
internal sealed partial class KafkaProducer<TKey, TValue> : IProducer<TKey, TValue>, IPendingRecordWriter
{
    // Serialization goes into per-thread scratch buffers that are copied into the batch, so a record
    // appended at once allocates no byte[] of its own (the copy is cheaper than the allocation and
    // GC it replaces); only a record that has to wait copies its bytes, into pooled arrays.
    [ThreadStatic]
    private static PooledBufferWriter? t_keyBuffer;

    [ThreadStatic]
    private static PooledBufferWriter? t_valueBuffer;

    /// <summary>What a call does when buffer.memory is full.</summary>
    private enum MemoryWait
    {
        /// <summary>Refuse the record (TryProduce, and Produce on the reporting loop).</summary>
        Never,

        /// <summary>Block the calling thread up to max.block.ms (Produce).</summary>
        Blocking,

        /// <summary>Queue it and return; it fails after max.block.ms (ProduceAsync).</summary>
        Async,
    }

    private readonly ProducerEngine _engine;
    private readonly ISerializer<TKey> _keySerializer;
    private readonly ISerializer<TValue> _valueSerializer;
    private readonly IPartitioner? _partitioner;
    private readonly StickyPartitioner _sticky;
    private readonly TimeSpan _closeTimeout;

    // Null without interceptors: the produce path then pays a null check for them, nothing more.
    private readonly InterceptorChain<TKey, TValue>? _interceptors;

    // One close, however many callers dispose: each of them returns only once it is over.
    private readonly Lazy<Task> _close;

    // Ends the close's wait for outstanding records (and for an open transaction's abort): set to the close timeout when
    // the close starts, or sooner by CloseAsync(timeout), even while the close already waits. _closeDeadlineMs is when,
    // on Environment.TickCount64; long.MinValue once the close is over (the source is then disposed).
    private readonly CancellationTokenSource _closeDeadline = new();
    private readonly object _closeDeadlineGate = new();
    private long _closeDeadlineMs = long.MaxValue;

    public KafkaProducer(
        ProducerEngine engine,
        ISerializer<TKey> keySerializer,
        ISerializer<TValue> valueSerializer,
        IPartitioner? partitioner,
        TimeSpan closeTimeout,
        InterceptorChain<TKey, TValue>? interceptors = null,
        IAsyncSerializer<TKey>? asyncKeySerializer = null,
        IAsyncSerializer<TValue>? asyncValueSerializer = null)
    {
        _engine = engine;
        _asyncKeySerializer = asyncKeySerializer;
        _asyncValueSerializer = asyncValueSerializer;
        _hasAsyncSerializer = asyncKeySerializer is not null || asyncValueSerializer is not null;
        _keySerializer = keySerializer;
        _valueSerializer = valueSerializer;
        _partitioner = partitioner;
        _closeTimeout = closeTimeout;
        _interceptors = interceptors;
        _sticky = new StickyPartitioner(engine.Options.BatchSize);
        _close = new Lazy<Task>(RunCloseAsync);
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

        if (_interceptors is { } interceptors)
        {
            record = interceptors.OnSend(record);
        }

        if (CheckRecord(record) is { } invalid)
        {
            Acknowledge(record.Topic ?? "", record.Partition, record.Timestamp, invalid);
            return ValueTask.FromException<DeliveryResult>(invalid);
        }

        if (_hasAsyncSerializer)
        {
            return ProduceWithAsyncSerializers(record, cancellationToken);
        }

        var promise = DeliveryPromise.Rent();
        var telemetry = _engine.Telemetry.Begin(record.Topic, record.Key, record.Value is null, record.Headers);
        var error = SerializeAndAppend(record, promise, null, MemoryWait.Async, telemetry, out var waitingForMemory, out _);
        return DeliveryOf(record, promise, error, telemetry, waitingForMemory, cancellationToken);
    }

    public void Produce(string topic, Message<TKey, TValue> message, Action<DeliveryReport>? deliveryHandler = null)
    {
        ArgumentNullException.ThrowIfNull(message);
        Produce(ToRecord(topic, message), deliveryHandler);
    }

    public void Produce(ProducerRecord<TKey, TValue> record, Action<DeliveryReport>? deliveryHandler = null)
    {
        ThrowIfAsyncSerializer();

        if (_interceptors is { } interceptors)
        {
            record = interceptors.OnSend(record);
        }

        if (CheckRecord(record) is { } invalid)
        {
            ReportFailure(record, deliveryHandler, invalid);
            return;
        }

        // On the reporting loop, waiting for buffer space would wait for this very loop to free it.
        var reentrant = ReportingThread.IsCurrent;
        var telemetry = _engine.Telemetry.Begin(record.Topic, record.Key, record.Value is null, record.Headers);
        var error = SerializeAndAppend(record, null, deliveryHandler, reentrant ? MemoryWait.Never : MemoryWait.Blocking, telemetry, out var waitingForMemory, out var refused);
        if (refused)
        {
            error = BufferFullOnReportingLoop(record);
        }
        else if (waitingForMemory is not null && !waitingForMemory.WaitForMemory(_engine.Options.MaxBlock))
        {
            // buffer.memory stayed full for max.block.ms: the record fails, as with the Java client's send().
            OnWaitExpired(waitingForMemory);
        }

        if (error is not null)
        {
            _engine.Telemetry.OnRejected(record.Topic, error, telemetry);
            ReportFailure(record, deliveryHandler, error);
        }
    }

    public bool TryProduce(ProducerRecord<TKey, TValue> record, Action<DeliveryReport>? deliveryHandler = null)
    {
        ThrowIfAsyncSerializer();

        if (_interceptors is { } interceptors)
        {
            record = interceptors.OnSend(record);
        }

        if (CheckRecord(record) is { } invalid)
        {
            ReportFailure(record, deliveryHandler, invalid);
            return true;
        }

        var telemetry = _engine.Telemetry.Begin(record.Topic, record.Key, record.Value is null, record.Headers);
        if (SerializeAndAppend(record, null, deliveryHandler, MemoryWait.Never, telemetry, out _, out var refused) is { } error)
        {
            _engine.Telemetry.OnRejected(record.Topic, error, telemetry);
            ReportFailure(record, deliveryHandler, error);
        }

        if (refused && (telemetry.Trace is not null || _interceptors is not null))
        {
            // Not taken: the caller keeps the record (and may offer it again), but every OnSend gets its one answer,
            // and the span says why it ended.
            var notTaken = new BufferFullException(
                $"buffer.memory ({_engine.Options.BufferMemory} bytes) is full; TryProduce did not take the record.") { Topic = record.Topic, Partition = record.Partition };
            telemetry.Trace?.Fail(notTaken, partitionId: null);
            if (_interceptors is not null)
            {
                Acknowledge(record.Topic, record.Partition, record.Timestamp, notTaken);
            }
        }

        return !refused;
    }

    public Task FlushAsync(CancellationToken cancellationToken = default) => _engine.FlushAsync(cancellationToken);

    public ProducerHealth GetHealth() => _engine.GetHealth();

    public ValueTask InitTransactionsAsync(CancellationToken cancellationToken = default) =>
        WaitAsync(RequireTransactions("InitTransactions").InitAsync(), cancellationToken);

    public void InitTransactions(TimeSpan timeout) => Wait(RequireTransactions("InitTransactions").InitAsync(), timeout, "InitTransactions");

    public void BeginTransaction() => RequireTransactions("BeginTransaction").Begin();

    public ValueTask CommitTransactionAsync(CancellationToken cancellationToken = default) =>
        WaitAsync(RequireTransactions("CommitTransaction").CommitAsync(), cancellationToken);

    public void CommitTransaction(TimeSpan timeout) => Wait(RequireTransactions("CommitTransaction").CommitAsync(), timeout, "CommitTransaction");

    public ValueTask AbortTransactionAsync(CancellationToken cancellationToken = default) =>
        WaitAsync(RequireTransactions("AbortTransaction").AbortAsync(), cancellationToken);

    public void AbortTransaction(TimeSpan timeout) => Wait(RequireTransactions("AbortTransaction").AbortAsync(), timeout, "AbortTransaction");

    public ValueTask SendOffsetsToTransactionAsync(IEnumerable<TopicPartitionOffset> offsets, ConsumerGroupMetadata group, CancellationToken cancellationToken = default) =>
        WaitAsync(SendOffsets(offsets, group), cancellationToken);

    public void SendOffsetsToTransaction(IEnumerable<TopicPartitionOffset> offsets, ConsumerGroupMetadata group, TimeSpan timeout) =>
        Wait(SendOffsets(offsets, group), timeout, "SendOffsetsToTransaction", "CommitTransaction waits for it (calling SendOffsetsToTransaction again would send the offsets again).");

    private Task SendOffsets(IEnumerable<TopicPartitionOffset> offsets, ConsumerGroupMetadata group)
    {
        ArgumentNullException.ThrowIfNull(offsets);
        ArgumentNullException.ThrowIfNull(group);
        if (string.IsNullOrEmpty(group.GroupId))
        {
            throw new ArgumentException("The consumer group id is empty; pass the group.id of the consumer whose offsets these are.", nameof(group));
        }

        var list = offsets.ToList();
        foreach (var offset in list)
        {
            if (offset is null || string.IsNullOrEmpty(offset.Topic) || offset.Partition < 0 || offset.Offset < 0)
            {
                throw new ArgumentException(
                    $"Offset {offset} is not valid: it needs a topic, a partition of 0 or more and an offset of 0 or more (the next offset to consume: last processed + 1).", nameof(offsets));
            }
        }

        return RequireTransactions("SendOffsetsToTransaction").SendOffsetsAsync(list, group);
    }

    private TransactionManager RequireTransactions(string call)
    {
        if (_engine.IsClosed)
        {
            throw new ProducerClosedException($"{call} was called on a disposed producer.");
        }

        return _engine.Transactions ?? throw new TransactionStateException(
            $"{call} needs a transactional producer, but 'transactional.id' is not set. Set transactional.id (ProducerOptions.TransactionalId) to use transactions.");
    }

    // The operation goes on when the caller stops waiting: the caller may wait for it again by calling once more.
    private static ValueTask WaitAsync(Task operation, CancellationToken cancellationToken) => new(operation.WaitAsync(cancellationToken));

    private static void Wait(Task operation, TimeSpan timeout, string call, string? toWaitAgain = null)
    {
        if (!BlockOn(operation, timeout, call, "Call it from another thread."))
        {
            throw new KafkaTimeoutException($"{call} did not finish within {timeout.TotalMilliseconds:0} ms; it goes on in the background. {toWaitAgain ?? $"Call {call} again to wait for it."}");
        }
    }

    // A blocking twin: never on the reporting loop (the wait would be for reports only that thread can make); the
    // operation's own exception, not an AggregateException; false if the timeout passed first.
    private static bool BlockOn(Task operation, TimeSpan timeout, string call, string instead)
    {
        if (ReportingThread.IsCurrent)
        {
            throw new InvalidOperationException(
                $"{call} was called from a delivery handler, on the producer's reporting loop: it would wait for reports that only this loop can make. {instead}");
        }

        try
        {
            return operation.Wait(timeout);
        }
        catch (AggregateException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
            throw;
        }
    }

    public bool Flush(TimeSpan timeout) => BlockOn(_engine.FlushAsync(CancellationToken.None), timeout, "Flush", "Call FlushAsync without blocking on it, or flush from another thread.");

    public ValueTask DisposeAsync()
    {
        if (ReportingThread.IsCurrent)
        {
            // The close waits for reports, which this thread is busy making: start it on another
            // thread and let the handler return.
            _ = Task.Run(() => _close.Value);
            return ValueTask.CompletedTask;
        }

        return new ValueTask(_close.Value);
    }

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    public ValueTask CloseAsync(TimeSpan timeout)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(timeout, TimeSpan.Zero);
        LimitCloseWait(timeout);
        return DisposeAsync();
    }

    /// <summary>Makes the close stop waiting for outstanding records within <paramref name="timeout"/> from now, unless it already must sooner.</summary>
    private void LimitCloseWait(TimeSpan timeout)
    {
        // Past what a timer can be set to (about 24 days), a timeout is as good as none.
        if (timeout.TotalMilliseconds > int.MaxValue)
        {
            return;
        }

        lock (_closeDeadlineGate)
        {
            var deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
            if (deadline < _closeDeadlineMs)
            {
                _closeDeadlineMs = deadline;
                _closeDeadline.CancelAfter(timeout);
            }
        }
    }

    /// <summary>The time left before the close must stop waiting (zero once it passed).</summary>
    private TimeSpan CloseTimeLeft()
    {
        lock (_closeDeadlineGate)
        {
            return _closeDeadlineMs == long.MaxValue ? Timeout.InfiniteTimeSpan : TimeSpan.FromMilliseconds(Math.Max(0, _closeDeadlineMs - Environment.TickCount64));
        }
    }

    private async Task RunCloseAsync()
    {
        LimitCloseWait(_closeTimeout);
        var deadline = _closeDeadline.Token;
        var startedMs = Environment.TickCount64;

        // A transaction left open is aborted, as far as the close's time allows (Java's close does the same).
        if (_engine.Transactions is { } transactions)
        {
            await transactions.AbortOnCloseAsync(deadline).ConfigureAwait(false);
        }

        // Give what was produced a bounded chance to go out, then fail the rest: nothing hangs.
        var logger = _engine.Loggers.Producer;
        var flushFor = CloseTimeLeft();
        ShutdownLog.Closing(logger, _engine.ClientId, (long)flushFor.TotalMilliseconds);
        try
        {
            await _engine.FlushAsync(deadline).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            ShutdownLog.CloseFlushTimedOut(logger, _engine.ClientId, Environment.TickCount64 - startedMs, _engine.CountUnreported());
        }

        await _engine.DisposeAsync(CloseTimeLeft()).ConfigureAwait(false);
        ShutdownLog.Closed(logger, _engine.ClientId);
        lock (_closeDeadlineGate)
        {
            _closeDeadlineMs = long.MinValue; // a later CloseAsync has nothing left to shorten
            _closeDeadline.Dispose();
        }
    }

    public void OnGranted(PendingRecord record)
    {
        if (!record.Topic.TryEnqueue(record))
        {
            OnTopicResolved(record, record.Topic.Failure);
        }
    }

    public void OnTopicResolved(PendingRecord record, KafkaException? topicFailure)
    {
        var error = topicFailure;
        if (error is null && _engine.IsClosed)
        {
            error = new ProducerClosedException($"The producer was disposed before the record for topic '{record.Topic.Name}' was appended; it was not sent.") { Topic = record.Topic.Name };
        }

        error ??= Append(record.Topic, record.Partition, record.Key, record.KeyIsNull, record.Value, record.ValueIsNull, record.Headers, record.TimestampMs, record.Promise, record.Handler, record.Bytes, record.Telemetry);
        if (error is null)
        {
            record.ReturnBytes();
            return;
        }

        _engine.Memory.Release(record.Bytes);
        Fail(record, error);
    }

    public void OnWaitExpired(PendingRecord record)
    {
        if (_engine.Memory.TryWithdraw(record))
        {
            Fail(record, BufferFull(record.Topic.Name, record.Partition));
        }
    }

    public void Fail(PendingRecord record, KafkaException error)
    {
        _engine.Telemetry.OnRejected(record.Topic.Name, error, record.Telemetry);
        record.EndWait();
        record.ReturnBytes();
        if (record.Promise is { } promise)
        {
            Acknowledge(record.Topic.Name, record.Partition, new Timestamp(record.TimestampMs, TimestampType.CreateTime), error);
            promise.Fail(error);
        }
        else
        {
            // Run as a report: this thread may be the reporting loop, or stand in for it (appending a
            // resolved topic's records, a dispose), so a handler calling Produce, Flush or Dispose gets
            // the same non-blocking behaviour as from any delivery handler.
            ReportingThread.Enter();
            try
            {
                ReportFailure(record.Topic.Name, record.Partition, new Timestamp(record.TimestampMs, TimestampType.CreateTime), record.Handler, error);
            }
            finally
            {
                ReportingThread.Exit();
            }
        }
    }

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

    /// <summary>
    /// Serializes the record, then appends it straight from the scratch buffers when its topic is
    /// known and buffer memory is free (the fast path). Otherwise it keeps a copy of its bytes and
    /// waits for memory (<paramref name="waitingForMemory"/> set, per <paramref name="wait"/>) and
    /// then for its topic, behind any record that waits already. Returns the error if the record
    /// cannot be produced; <paramref name="refused"/> is true when it was not taken because the
    /// buffer is full and <paramref name="wait"/> is <see cref="MemoryWait.Never"/>.
    /// </summary>
    private KafkaException? SerializeAndAppend(in ProducerRecord<TKey, TValue> record, DeliveryPromise? promise, Action<DeliveryReport>? handler, MemoryWait wait, in RecordTelemetry telemetry, out PendingRecord? waitingForMemory, out bool refused)
    {
        if (_engine.Transactions is not { } transaction)
        {
            return SerializeAndAppendCore(record, promise, handler, wait, telemetry, out waitingForMemory, out refused);
        }

        // A transactional producer takes records only inside a transaction; the call counts as appending until it is
        // done, so that a commit or abort can wait for it (a record that has to wait holds its own count).
        if (transaction.TryBeginAppend(record.Topic) is { } refusal)
        {
            waitingForMemory = null;
            refused = false;
            return refusal;
        }

        try
        {
            return SerializeAndAppendCore(record, promise, handler, wait, telemetry, out waitingForMemory, out refused);
        }
        finally
        {
            transaction.EndAppend();
        }
    }

    private KafkaException? SerializeAndAppendCore(in ProducerRecord<TKey, TValue> record, DeliveryPromise? promise, Action<DeliveryReport>? handler, MemoryWait wait, in RecordTelemetry telemetry, out PendingRecord? waitingForMemory, out bool refused)
    {
        waitingForMemory = null;
        refused = false;
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

        return AppendSerialized(record, keyBuffer.WrittenSpan, keyIsNull, valueBuffer.WrittenSpan, valueIsNull, promise, handler, wait, telemetry, out waitingForMemory, out refused);
    }

    /// <summary>
    /// The part of <see cref="SerializeAndAppend"/> after serialization: the size check, then the append
    /// or the wait for memory or metadata. The bytes are copied before this returns, if they must wait.
    /// </summary>
    private KafkaException? AppendSerialized(in ProducerRecord<TKey, TValue> record, ReadOnlySpan<byte> key, bool keyIsNull, ReadOnlySpan<byte> value, bool valueIsNull, DeliveryPromise? promise, Action<DeliveryReport>? handler, MemoryWait wait, in RecordTelemetry telemetry, out PendingRecord? waitingForMemory, out bool refused)
    {
        waitingForMemory = null;
        refused = false;
        telemetry.Trace?.SetBodySize(valueIsNull ? -1 : value.Length);
        var size = RecordBatchBuilder.EstimateRecordSize(key, keyIsNull, value, valueIsNull, record.Headers, telemetry.ExtraHeaders);
        if (CheckSize(record, size) is { } tooLarge)
        {
            return tooLarge;
        }

        var timestampMs = record.Timestamp.Type == TimestampType.NotAvailable ? DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() : record.Timestamp.UnixTimestampMs;
        var topic = _engine.GetTopic(record.Topic);
        if (topic.IsReady && _engine.Memory.TryReserve(size))
        {
            var error = Append(topic, record.Partition, key, keyIsNull, value, valueIsNull, record.Headers, timestampMs, promise, handler, size, telemetry);
            if (error is not null)
            {
                _engine.Memory.Release(size);
            }

            return error;
        }

        if (wait == MemoryWait.Never && !_engine.Memory.TryReserve(size))
        {
            refused = true;
            return null;
        }

        if (wait == MemoryWait.Blocking && topic.IsReady)
        {
            return WaitThenAppend(topic, record, key, keyIsNull, value, valueIsNull, timestampMs, handler, size, telemetry);
        }

        // A ProduceAsync gives up after max.block.ms through BufferMemory's one expiry timer; a blocked
        // Produce times its own wait.
        var expiresAtMs = wait == MemoryWait.Async ? MonotonicClock.NowMs + (long)_engine.Options.MaxBlock.TotalMilliseconds : long.MaxValue;
        var pending = new PendingRecord(this, _engine.PendingBytes, topic, record.Partition, key, keyIsNull, value, valueIsNull, record.Headers, timestampMs, promise, handler, size, expiresAtMs, _engine.Transactions, telemetry);
        if (wait == MemoryWait.Never)
        {
            OnGranted(pending);
            return null;
        }

        if (wait == MemoryWait.Blocking)
        {
            pending.PrepareBlockingWait();
        }

        if (_engine.Memory.ReserveOrEnqueue(pending))
        {
            OnGranted(pending);
            return null;
        }

        waitingForMemory = pending;
        return null;
    }

    // A Produce call whose topic is known and whose memory is not free: blocks this thread until the memory is
    // granted (in arrival order) or max.block.ms passes, then appends from the scratch buffers (see BlockedProduce).
    private KafkaException? WaitThenAppend(TopicState topic, in ProducerRecord<TKey, TValue> record, ReadOnlySpan<byte> key, bool keyIsNull, ReadOnlySpan<byte> value, bool valueIsNull, long timestampMs, Action<DeliveryReport>? handler, int size, in RecordTelemetry telemetry)
    {
        var blocked = BlockedProduce.ForThisThread(size);
        if (!_engine.Memory.ReserveOrEnqueue(blocked))
        {
            if (!blocked.Wait(_engine.Options.MaxBlock))
            {
                if (_engine.Memory.TryWithdraw(blocked))
                {
                    // buffer.memory stayed full for max.block.ms: the record fails, as with the Java client's send().
                    return BufferFull(record.Topic, record.Partition);
                }

                // Granted (or failed) while the time ran out: that wakes the wait at once.
                blocked.Wait(Timeout.InfiniteTimeSpan);
            }

            if (blocked.Failure is { } failure)
            {
                return failure;
            }
        }

        KafkaException? error = _engine.IsClosed
            ? new ProducerClosedException($"The producer was disposed while the record for topic '{record.Topic}' waited for buffer memory; it was not sent.") { Topic = record.Topic, Partition = record.Partition }
            : Append(topic, record.Partition, key, keyIsNull, value, valueIsNull, record.Headers, timestampMs, null, handler, size, telemetry);
        if (error is not null)
        {
            _engine.Memory.Release(size);
        }

        return error;
    }

    // What ProduceAsync returns once the record is appended or waits (error null), or refused: the refusal is told to
    // the telemetry and the interceptors. Only a caller who can cancel pays for a wrapper; the others await the pooled promise.
    private ValueTask<DeliveryResult> DeliveryOf(in ProducerRecord<TKey, TValue> record, DeliveryPromise promise, KafkaException? error, in RecordTelemetry telemetry, PendingRecord? waitingForMemory, CancellationToken cancellationToken)
    {
        if (error is not null)
        {
            _engine.Telemetry.OnRejected(record.Topic, error, telemetry);
            Acknowledge(record.Topic, record.Partition, record.Timestamp, error);
            promise.Fail(error);
            return promise.Task;
        }

        return cancellationToken.CanBeCanceled ? WaitCancellableAsync(promise, waitingForMemory, cancellationToken) : promise.Task;
    }

    private async ValueTask<DeliveryResult> WaitCancellableAsync(DeliveryPromise promise, PendingRecord? waitingForMemory, CancellationToken cancellationToken)
    {
        // AsTask reads the pooled promise once the record has its outcome, whatever became of this
        // wait: the promise goes back to its pool exactly once, when nobody can read it any more.
        var delivery = promise.Task.AsTask();
        try
        {
            return await delivery.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            if (waitingForMemory is not null && _engine.Memory.TryWithdraw(waitingForMemory))
            {
                // Not accepted yet: withdrawn as if never produced. Its promise is never completed
                // and so never pooled again; the collector takes it with this wait.
                waitingForMemory.EndWait();
                waitingForMemory.ReturnBytes();
                waitingForMemory.Telemetry.Trace?.Cancel();
                if (_interceptors is not null)
                {
                    var topic = waitingForMemory.Topic.Name;
                    Acknowledge(topic, waitingForMemory.Partition, new Timestamp(waitingForMemory.TimestampMs, TimestampType.CreateTime), new KafkaException(
                        $"The caller cancelled ProduceAsync while the record for topic '{topic}' waited for buffer memory; it was not sent.") { Topic = topic, Partition = waitingForMemory.Partition });
                }
            }
            else
            {
                // Accepted: it goes out or fails on its own, and only the log can still tell a failure.
                _ = delivery.ContinueWith(
                    static (task, engine) => ((ProducerEngine)engine!).OnAbandonedRecordFailed((KafkaException)task.Exception!.InnerException!),
                    _engine,
                    CancellationToken.None,
                    TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously,
                    TaskScheduler.Default);
            }

            throw;
        }
    }

    private RecordTooLargeException? CheckSize(in ProducerRecord<TKey, TValue> record, int size)
    {
        if (size > _engine.Options.MaxRequestSize)
        {
            return new RecordTooLargeException(
                $"The record for topic '{record.Topic}' is {size} bytes when encoded, more than max.request.size ({_engine.Options.MaxRequestSize}). Send a smaller record or raise max.request.size (and the broker's message.max.bytes).")
            {
                Topic = record.Topic,
                Partition = record.Partition,
            };
        }

        if (size > _engine.Memory.Limit)
        {
            return new RecordTooLargeException(
                $"The record for topic '{record.Topic}' is {size} bytes when encoded, more than buffer.memory ({_engine.Memory.Limit}). Send a smaller record or raise buffer.memory.")
            {
                Topic = record.Topic,
                Partition = record.Partition,
            };
        }

        return null;
    }

    private BufferFullException BufferFull(string topic, int? partition) => new(
        $"buffer.memory ({_engine.Options.BufferMemory} bytes) stayed full for max.block.ms ({_engine.Options.MaxBlock.TotalMilliseconds:0} ms): records are produced faster than the cluster accepts them. Produce more slowly, or raise buffer.memory or max.block.ms.")
    {
        Topic = topic,
        Partition = partition,
    };

    private BufferFullException BufferFullOnReportingLoop(in ProducerRecord<TKey, TValue> record) => new(
        $"buffer.memory ({_engine.Options.BufferMemory} bytes) is full and Produce was called from a delivery handler, on the reporting loop that frees buffer space: waiting would stall every report. Use TryProduce or ProduceAsync in a delivery handler, or produce from another thread.")
    {
        Topic = record.Topic,
        Partition = record.Partition,
    };

    private void ReportFailure(in ProducerRecord<TKey, TValue> record, Action<DeliveryReport>? deliveryHandler, KafkaException error) =>
        ReportFailure(record.Topic ?? "", record.Partition, record.Timestamp, deliveryHandler, error);

    private void ReportFailure(string topic, int? partition, Timestamp timestamp, Action<DeliveryReport>? deliveryHandler, KafkaException error)
    {
        Acknowledge(topic, partition, timestamp, error);
        if (deliveryHandler is null)
        {
            _engine.OnUnhandledRecordFailed(error, topic, partition ?? -1);
            return;
        }

        try
        {
            deliveryHandler(new DeliveryReport(new DeliveryResult(topic, partition ?? -1, -1, timestamp), error));
        }
        catch (Exception e)
        {
            // A user callback never breaks the producer: this may run while a topic's waiting
            // records are appended, or while granted records are, on behalf of other callers.
            _engine.OnHandlerFailed(e, topic, partition ?? -1);
        }
    }

    // A record that failed before it reached a batch: the interceptors hear of it here, before its caller or handler.
    private void Acknowledge(string topic, int? partition, Timestamp timestamp, KafkaException error) =>
        _interceptors?.OnAcknowledgement(new DeliveryReport(new DeliveryResult(topic, partition ?? -1, -1, timestamp), error));

    /// <summary>Partitions and appends serialized bytes whose buffer memory is reserved; returns the error if the record cannot go to a partition.</summary>
    private InvalidRecordException? Append(TopicState topic, int? explicitPartition, ReadOnlySpan<byte> key, bool keyIsNull, ReadOnlySpan<byte> value, bool valueIsNull, Headers? headers, long timestampMs, DeliveryPromise? promise, Action<DeliveryReport>? handler, int size, in RecordTelemetry telemetry)
    {
        var info = topic.Info;
        var partitionCount = info.Partitions.Length;
        if (explicitPartition is { } chosen && chosen >= partitionCount)
        {
            return new InvalidRecordException(
                $"Partition {chosen} does not exist: topic '{topic.Name}' has {partitionCount} partition(s), numbered 0 to {partitionCount - 1}.")
            {
                Topic = topic.Name,
                Partition = chosen,
            };
        }

        int partition;
        if (explicitPartition is null && _partitioner is not null)
        {
            partition = _partitioner.Partition(topic.Name, key, keyIsNull, partitionCount);
            if ((uint)partition >= (uint)partitionCount)
            {
                return new InvalidRecordException(
                    $"The partitioner {_partitioner.GetType().Name} chose partition {partition}, but topic '{topic.Name}' has partitions 0 to {partitionCount - 1}.")
                {
                    Topic = topic.Name,
                    Partition = partition,
                };
            }
        }
        else
        {
            partition = DefaultPartitioner.Partition(topic.Name, explicitPartition, key, keyIsNull, partitionCount, _engine.Options.Partitioner, _engine.Options.PartitionerIgnoreKeys, _sticky, info.AvailablePartitions, new AccumulatorLoad(topic.Partitions, _engine.Options));
        }

        var accumulator = topic.Partitions[partition];
        _engine.Transactions?.OnAppend(accumulator);
        if (accumulator.Append(timestampMs, key, keyIsNull, value, valueIsNull, headers, new PendingDelivery(promise, handler, timestampMs, telemetry), size, out var readyAtMs))
        {
            accumulator.Sender?.Activate(accumulator, readyAtMs);
        }

        if (explicitPartition is null && _partitioner is null && DefaultPartitioner.IsSticky(_engine.Options.Partitioner, keyIsNull, key.Length, _engine.Options.PartitionerIgnoreKeys))
        {
            // KIP-794 counts the bytes the record adds to its batch, not a lone batch's header.
            _sticky.OnAppended(topic.Name, partition, size - RecordBatchBuilder.HeaderSize);
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
            return SerializationFailure(serializer, e, component, record);
        }
    }

    private static SerializationException SerializationFailure(object serializer, Exception e, MessageComponentType component, in ProducerRecord<TKey, TValue> record)
    {
        var which = component == MessageComponentType.Key ? "key" : "value";
        return new SerializationException(
            $"The {which} serializer ({serializer.GetType().Name}) threw for a record of topic '{record.Topic}': {e.Message}", component, e)
        {
            Topic = record.Topic,
            Partition = record.Partition,
        };
    }
}
