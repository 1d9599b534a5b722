using System.Text;

namespace Samsa.Testing.Proxy;

/// <summary>A topic and partition.</summary>
public readonly record struct TopicPartition(string Topic, int Partition)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Topic}[{Partition}]";
}

/// <summary>One record of a produced batch, as far as the oracle decodes it.</summary>
/// <param name="Key">The key bytes (null for a null key).</param>
/// <param name="Value">The value bytes (null for a null value).</param>
/// <param name="Sequence">The record's producer sequence (base sequence + offset delta, wrapping), or -1
/// when the batch carries no producer id.</param>
public sealed record ProducedRecord(int Sequence, byte[]? Key, byte[]? Value)
{
    /// <summary>The value as UTF-8 text ("&lt;null&gt;" for a null value), for messages and tests.</summary>
    /// <summary>The value as UTF-8 text, or <c>&lt;null&gt;</c> for a null value (for messages and assertions).</summary>
    public string ValueText => Value is null ? "<null>" : Encoding.UTF8.GetString(Value);
}

/// <summary>
/// A v2 record batch as a producer sent it: the header fields idempotence depends on, and its records
/// (empty when the batch is compressed with snappy, lz4 or zstd, which the oracle does not decompress: it
/// counts those by <see cref="RecordCount"/>; uncompressed and gzip batches are decoded).
/// </summary>
public sealed record ProducedBatch(
    string Topic,
    int Partition,
    long ProducerId,
    short ProducerEpoch,
    int BaseSequence,
    int RecordCount,
    IReadOnlyList<ProducedRecord> Records)
{
    /// <summary>True when the records are compressed with a codec the oracle does not decode, so
    /// <see cref="Records"/> is empty.</summary>
    public bool IsCompressed { get; init; }

    /// <summary>The batch header's attributes (codec in bits 0-2, timestamp type 0x08, transactional 0x10,
    /// control 0x20). 0 unless decoded from the wire or set.</summary>
    public short Attributes { get; init; }

    /// <summary>The transactional bit (0x10) of <see cref="Attributes"/>: the batch belongs to a transaction.</summary>
    public bool IsTransactional => (Attributes & 0x10) != 0;

    /// <summary>The batch's topic and partition together.</summary>
    public TopicPartition TopicPartition => new(Topic, Partition);

    private readonly int? _lastOffsetDelta;

    /// <summary>The header's lastOffsetDelta (by default <see cref="RecordCount"/> - 1). The broker derives the
    /// last sequence from it, not from the record count, and so does the oracle.</summary>
    public int LastOffsetDelta
    {
        get => _lastOffsetDelta ?? Math.Max(RecordCount, 1) - 1;
        init => _lastOffsetDelta = value;
    }

    /// <summary>The sequence of the batch's last record, wrapping past <see cref="int.MaxValue"/> to 0 as the broker does.</summary>
    public int LastSequence => AddSequence(BaseSequence, LastOffsetDelta);

    /// <summary>An uncompressed batch of UTF-8 values with consecutive sequences from <paramref name="baseSequence"/>
    /// (for synthetic tests of the oracle's rules).</summary>
    public static ProducedBatch Create(string topic, int partition, long producerId, short producerEpoch, int baseSequence, params string[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var records = values.Select((v, i) => new ProducedRecord(producerId < 0 ? -1 : AddSequence(baseSequence, i), null, Encoding.UTF8.GetBytes(v))).ToList();
        return new ProducedBatch(topic, partition, producerId, producerEpoch, baseSequence, records.Count, records);
    }

    /// <summary>Sequence arithmetic of Kafka's DefaultRecordBatch: sequences wrap from int.MaxValue to 0.</summary>
    public static int AddSequence(int sequence, int increment) =>
        sequence > int.MaxValue - increment ? increment - (int.MaxValue - sequence) - 1 : sequence + increment;

    /// <inheritdoc/>
    public override string ToString() =>
        $"{TopicPartition} pid {ProducerId} epoch {ProducerEpoch} seq {BaseSequence}..{LastSequence} ({RecordCount} records)";
}

/// <summary>What a real Kafka broker would have done with a batch the test broker answered.</summary>
public enum BatchVerdict
{
    /// <summary>Stored: in sequence, a new epoch starting at 0, a new producer starting at 0, or no producer id.</summary>
    Appended,

    /// <summary>Same producer, epoch and first/last sequence as one of the partition's last 5 batches: a real
    /// broker answers success (or DUPLICATE_SEQUENCE_NUMBER) and does not store it again.</summary>
    Duplicate,

    /// <summary>A gap or reordering (OUT_OF_ORDER_SEQUENCE_NUMBER), including a newer epoch not starting at 0.</summary>
    OutOfOrder,

    /// <summary>An epoch older than the producer's current one (INVALID_PRODUCER_EPOCH).</summary>
    Fenced,

    /// <summary>A producer id the partition has no state for, not starting at sequence 0 (UNKNOWN_PRODUCER_ID).
    /// Newer brokers accept this only because they assume the state expired, which never happens in a test bed.</summary>
    UnknownProducer,

    /// <summary>The test broker answered an error: it stored nothing, and neither would a real broker.</summary>
    BrokerError,

    /// <summary>No answer reached the proxy (the connection closed first): whether it was stored is unknown;
    /// the oracle counts it as not stored, so a resend of it is judged as the first copy.</summary>
    Unanswered,
}

/// <summary>A batch with the oracle's verdict.</summary>
/// <param name="Batch">The batch as the producer sent it.</param>
/// <param name="Verdict">What a real broker would have done with it.</param>
/// <param name="BrokerId">The broker the proxy forwarded it to (0 when fed directly to the oracle).</param>
/// <param name="ErrorCode">The test broker's error code for the partition (0 = it stored the batch).</param>
/// <param name="Reason">Why the verdict, for messages (empty for <see cref="BatchVerdict.Appended"/>).</param>
public sealed record JudgedBatch(ProducedBatch Batch, int BrokerId, short ErrorCode, BatchVerdict Verdict, string Reason)
{
    /// <summary>The error a real broker would have answered instead of the test broker's success, when the
    /// proxy passed it on to the producer (<see cref="KafkaProxy.EnforceSequenceRules"/>); 0 otherwise.</summary>
    public short CorrectedTo { get; init; }

    /// <summary>Where the test broker says it stored the batch (its base offset), or -1 (refused, or fed
    /// directly to the oracle). With <see cref="CorrectedTo"/> set, the test broker's log holds the batch there
    /// although a real broker would not: a read-back of that log has to leave those offsets out.</summary>
    public long TestBrokerOffset { get; init; } = -1;

    /// <summary>True when the test broker stored it but a real broker would have rejected it, and the producer
    /// was not told so.</summary>
    public bool IsViolation => CorrectedTo == 0 && RealBrokerError(Verdict) != 0;

    /// <summary>The error code a real broker answers for a batch with this verdict that it rejects (0 when it
    /// stores it or answers success): OUT_OF_ORDER_SEQUENCE_NUMBER, INVALID_PRODUCER_EPOCH, UNKNOWN_PRODUCER_ID.</summary>
    public static short RealBrokerError(BatchVerdict verdict) => verdict switch
    {
        BatchVerdict.OutOfOrder => 45,
        BatchVerdict.Fenced => 47,
        BatchVerdict.UnknownProducer => 59,
        _ => 0,
    };

    /// <inheritdoc/>
    public override string ToString() =>
        $"{Batch} → {Verdict}{(Reason.Length > 0 ? $" ({Reason})" : "")}{(CorrectedTo != 0 ? $", answered {CorrectedTo}" : "")}{(BrokerId > 0 ? $" via broker {BrokerId}" : "")}";
}

/// <summary>A record a real broker would have stored, in log order.</summary>
public sealed record StoredRecord(long ProducerId, short ProducerEpoch, int Sequence, byte[]? Key, byte[]? Value)
{
    /// <summary>The value as UTF-8 text, or <c>&lt;null&gt;</c> for a null value (for messages and assertions).</summary>
    public string ValueText => Value is null ? "<null>" : Encoding.UTF8.GetString(Value);
}

/// <summary>A record the producer under test reported as acknowledged, for <see cref="IdempotenceOracle.Verify"/>.</summary>
public readonly record struct AcknowledgedRecord(string Topic, int Partition, byte[]? Value)
{
    /// <summary>An acknowledged record with a UTF-8 text value.</summary>
    public static AcknowledgedRecord Utf8(string topic, int partition, string value) => new(topic, partition, Encoding.UTF8.GetBytes(value));
}

/// <summary>A snapshot of what the oracle saw.</summary>
public sealed class OracleReport
{
    internal OracleReport(IReadOnlyList<JudgedBatch> batches, IReadOnlyDictionary<TopicPartition, IReadOnlyList<StoredRecord>> stored)
    {
        Batches = batches;
        StoredRecords = stored;
    }

    /// <summary>Every judged batch, in the order the test broker answered them.</summary>
    public IReadOnlyList<JudgedBatch> Batches { get; }

    /// <summary>Per partition, the records a real broker would have stored, in log order (batches the oracle
    /// cannot decompress contribute no records).</summary>
    public IReadOnlyDictionary<TopicPartition, IReadOnlyList<StoredRecord>> StoredRecords { get; }

    /// <summary>Batches a real broker would have stored.</summary>
    public int Stored => Count(BatchVerdict.Appended);

    /// <summary>Batches the test broker stored again that a real broker would have de-duplicated.</summary>
    public int Duplicates => Count(BatchVerdict.Duplicate);

    /// <summary>Batches the test broker stored that a real broker would have rejected as out of order.</summary>
    public int OutOfOrder => Count(BatchVerdict.OutOfOrder);

    /// <summary>Batches the test broker stored that a real broker would have fenced (old epoch).</summary>
    public int Fenced => Count(BatchVerdict.Fenced);

    /// <summary>Batches of an unknown producer not starting at sequence 0.</summary>
    public int UnknownProducer => Count(BatchVerdict.UnknownProducer);

    /// <summary>Batches the test broker answered with an error.</summary>
    public int BrokerErrors => Count(BatchVerdict.BrokerError);

    /// <summary>Batches whose answer never reached the proxy.</summary>
    public int Unanswered => Count(BatchVerdict.Unanswered);

    /// <summary>No batch the test broker accepted would have been rejected by a real broker.</summary>
    public bool IsClean => Batches.All(b => !b.IsViolation);

    /// <summary>One line of counts.</summary>
    public override string ToString() =>
        $"batches {Batches.Count}: stored {Stored}, duplicates {Duplicates}, out-of-order {OutOfOrder}, fenced {Fenced}, " +
        $"unknown-producer {UnknownProducer}, broker errors {BrokerErrors}, unanswered {Unanswered}; " +
        $"records a real broker would hold {StoredRecords.Values.Sum(r => r.Count)}";

    private int Count(BatchVerdict verdict) => Batches.Count(b => b.Verdict == verdict);
}

/// <summary>Thrown by <see cref="IdempotenceOracle.Verify"/> when a real broker's log would differ from what
/// the producer reported.</summary>
public sealed class IdempotenceViolationException(string message) : Exception(message);
