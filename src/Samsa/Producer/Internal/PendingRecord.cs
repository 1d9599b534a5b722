namespace Samsa.Producer.Internal;

/// <summary>
/// A record that could not be appended when it was produced: its topic's metadata is not known
/// yet, or <c>buffer.memory</c> is full. It was serialized at the call, as in the Java client and
/// Confluent.Kafka, and holds its own copy of the bytes (in the producer's <see cref="PendingBytesArena"/>), so a
/// caller may reuse its arrays and objects once the call returns.
/// </summary>
internal sealed class PendingRecord : MemoryWaiter
{
    private readonly PendingBytesArena _arena;
    private readonly PendingBytes _bytes;
    private int _bytesReturned;
    private TaskCompletionSource? _waitOver;

    // Set in a transaction: the record counts as still appending until it is in a batch or failed.
    private TransactionManager? _transaction;

    // expiresAtMs: when BufferMemory gives up on it if it still waits for memory; long.MaxValue: never
    // (or its caller times itself out).
    public PendingRecord(IPendingRecordWriter writer, PendingBytesArena arena, TopicState topic, int? partition, ReadOnlySpan<byte> key, bool keyIsNull, ReadOnlySpan<byte> value, bool valueIsNull, Headers? headers, long timestampMs, DeliveryPromise? promise, Action<DeliveryReport>? handler, int size, long expiresAtMs = long.MaxValue, TransactionManager? transaction = null, Diagnostics.RecordTelemetry telemetry = default)
        : base(size)
    {
        _transaction = transaction;
        transaction?.HoldAppend();
        ExpiresAtMs = expiresAtMs;
        Writer = writer;
        Topic = topic;
        Partition = partition;
        KeyIsNull = keyIsNull;
        ValueIsNull = valueIsNull;
        KeyLength = key.Length;
        ValueLength = value.Length;
        _arena = arena;
        _bytes = arena.Store(key, value);
        Headers = Snapshot(headers);
        TimestampMs = timestampMs;
        Promise = promise;
        Handler = handler;
        Telemetry = telemetry;
    }

    public IPendingRecordWriter Writer { get; }

    public TopicState Topic { get; }

    /// <summary>The partition the caller chose, if any; otherwise it is chosen when the record is appended.</summary>
    public int? Partition { get; }

    public bool KeyIsNull { get; }

    public bool ValueIsNull { get; }

    public int KeyLength { get; }

    public int ValueLength { get; }

    public ReadOnlySpan<byte> Key => _bytes.Span[..KeyLength];

    public ReadOnlySpan<byte> Value => _bytes.Span.Slice(KeyLength, ValueLength);

    public Headers? Headers { get; }

    public long TimestampMs { get; }

    public DeliveryPromise? Promise { get; }

    public Action<DeliveryReport>? Handler { get; }

    /// <summary>When the call accepted the record and its "send" span, carried to its batch.</summary>
    public Diagnostics.RecordTelemetry Telemetry { get; }

    /// <summary>
    /// Makes the record wakeable by <see cref="WaitForMemory"/>; call before it is queued for
    /// memory, since it may be granted at once.
    /// </summary>
    public void PrepareBlockingWait() => _waitOver = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Blocks a <c>Produce</c> caller until the record is granted its memory or failed; false if the time ran out first.</summary>
    public bool WaitForMemory(TimeSpan timeout) => _waitOver!.Task.Wait(timeout);


    public override void OnGranted()
    {
        EndWait();
        Writer.OnGranted(this);
    }

    public override void Fail(KafkaException error) => Writer.Fail(this, error);

    public override void OnWaitExpired() => Writer.OnWaitExpired(this);

    /// <summary>The record no longer waits for memory: wake a blocked caller.</summary>
    public void EndWait() => _waitOver?.TrySetResult();

    /// <summary>
    /// Gives the bytes back to the arena once the record was appended (copied into its batch) or failed: the end of
    /// every record's path, so a transaction waiting for its records to be appended stops waiting for this one here too.
    /// </summary>
    public void ReturnBytes()
    {
        if (Interlocked.Exchange(ref _bytesReturned, 1) == 0)
        {
            _arena.Release(_bytes);
            _transaction?.EndAppend();
            _transaction = null;
        }
    }

    // The caller may change its Headers (or a header's array) once the call returned; the record keeps what it had.
    private static Headers? Snapshot(Headers? headers)
    {
        if (headers is null)
        {
            return null;
        }

        var copy = new Headers();
        foreach (var header in headers)
        {
            copy.Add(header.Key, header.Value?.ToArray());
        }

        return copy;
    }
}

/// <summary>The typed producer that made a <see cref="PendingRecord"/>; it partitions and appends it.</summary>
internal interface IPendingRecordWriter
{
    /// <summary>The record now holds its buffer memory: append it, or queue it until its topic resolves.</summary>
    void OnGranted(PendingRecord record);

    /// <summary>The record's topic resolved (<paramref name="topicFailure"/> null) or failed: append it or fail it.</summary>
    void OnTopicResolved(PendingRecord record, KafkaException? topicFailure);

    /// <summary>max.block.ms passed while the record waited for memory (unless it was granted meanwhile).</summary>
    void OnWaitExpired(PendingRecord record);

    /// <summary>Fails the record (it holds no buffer memory any more): tells its caller, gives its bytes back.</summary>
    void Fail(PendingRecord record, KafkaException error);
}
