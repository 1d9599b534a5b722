using System.Buffers.Binary;

namespace Samsa.Testing.Proxy;

/// <summary>A transactional (or idempotent) batch of a Produce request, as the transaction front needs it.</summary>
internal readonly record struct TxnBatch(string Topic, int Partition, short Attributes, long ProducerId, short Epoch, int LastOffsetDelta)
{
    public bool IsTransactional => (Attributes & TxnWire.TransactionalBit) != 0;
}

/// <summary>Who a Heartbeat or SyncGroup request says it is: the group, its generation and the member id.</summary>
internal readonly record struct GroupMember(string GroupId, int GenerationId, string MemberId);

/// <summary>One partition's offset in a TxnOffsetCommit request.</summary>
internal readonly record struct TxnOffset(string Topic, int Partition, long Offset, string? Metadata);

/// <summary>The fields of the coordinator requests (InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn, EndTxn,
/// TxnOffsetCommit) the front and the oracle need; <see cref="Partitions"/> and <see cref="Offsets"/> only where the request
/// has them.</summary>
internal sealed record TxnRequest(short ApiKey, short Version, string? TransactionalId, long ProducerId, short Epoch)
{
    public int TimeoutMs { get; init; }

    public bool Commit { get; init; }

    public string? GroupId { get; init; }

    public int GenerationId { get; init; } = -1;

    public string MemberId { get; init; } = "";

    /// <summary>AddPartitionsToTxn v4+ (KIP-890): a broker asking whether the partitions are in the transaction, not
    /// a producer adding them.</summary>
    public bool VerifyOnly { get; init; }

    public List<(string Topic, int Partition)> Partitions { get; init; } = [];

    public List<TxnOffset> Offsets { get; init; } = [];
}

/// <summary>
/// The wire forms the transaction front and the <see cref="TransactionOracle"/> read, and those the front writes, by hand
/// from Apache Kafka's JSON message definitions (InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn, EndTxn,
/// TxnOffsetCommit, Produce, OffsetCommit v2): just the fields they need, independent of Samsa's generated code.
/// Frames are read without their size prefix. Versions above the definitions are read with the layout of the highest
/// one (KIP-890: TxnOffsetCommit v5 and Produce v12 only announce new broker behaviour; EndTxn v5 adds the producer id
/// and epoch to its answer, which the JSON already lists).
/// </summary>
internal static class TxnWire
{
    public const short Produce = 0;
    public const short Fetch = 1;
    public const short ListOffsets = 2;
    public const short OffsetCommit = 8;
    public const short OffsetFetch = 9;
    public const short FindCoordinator = 10;
    public const short Heartbeat = 12;
    public const short SyncGroup = 14;
    public const short ApiVersions = 18;
    public const short InitProducerId = 22;
    public const short AddPartitionsToTxn = 24;
    public const short AddOffsetsToTxn = 25;
    public const short EndTxn = 26;
    public const short TxnOffsetCommit = 28;

    public const short TransactionalBit = 0x10;
    public const short ControlBit = 0x20;

    /// <summary>AddPartitionsToTxn v4 (KIP-890) batches several transactions in one request, for brokers.</summary>
    private const short FirstBatchedAddPartitionsVersion = 4;

    /// <summary>The version from which each API is flexible (compact strings, tagged fields).</summary>
    public static bool IsFlexible(short apiKey, short version) => apiKey switch
    {
        Produce => version >= ProduceCodec.FirstFlexibleVersion,
        Fetch => version >= 12,
        ListOffsets => version >= 6,
        OffsetCommit => version >= 8,
        OffsetFetch => version >= 6,
        FindCoordinator => version >= 3,
        Heartbeat or SyncGroup => version >= 4,
        InitProducerId => version >= 2,
        AddPartitionsToTxn or AddOffsetsToTxn or EndTxn or TxnOffsetCommit => version >= 3,
        _ => false,
    };

    /// <summary>The batches of a Produce request (v3+) with their attributes; empty when the request carries none.</summary>
    public static List<TxnBatch> ReadProduce(ReadOnlySpan<byte> frame, short version, out string? transactionalId)
    {
        var batches = new List<TxnBatch>();
        transactionalId = ProduceCodec.ReadPartitionRecords(frame, version, (topic, partition, records) =>
        {
            while (records.Length >= RecordBatch.HeaderSize)
            {
                var size = RecordBatch.Size(records);
                if (size < RecordBatch.HeaderSize || size > records.Length)
                {
                    break;
                }

                batches.Add(new TxnBatch(topic, partition, RecordBatch.Attributes(records), RecordBatch.ProducerId(records),
                    RecordBatch.Epoch(records), RecordBatch.LastOffsetDelta(records)));
                records = records[size..];
            }
        });
        return batches;
    }

    /// <summary>Reads one of the coordinator requests; null for another API, and for AddPartitionsToTxn v4+, which carries
    /// several transactions (<see cref="ReadAddPartitionsToTxn"/>).</summary>
    public static TxnRequest? ReadCoordinatorRequest(ReadOnlySpan<byte> frame, short apiKey, short version)
    {
        var flexible = IsFlexible(apiKey, version);
        var r = WireReader.AtRequestBody(frame, flexible);
        switch (apiKey)
        {
            case InitProducerId:
            {
                var id = r.ReadString(flexible);
                var timeout = r.ReadInt32();
                var pid = version >= 3 ? r.ReadInt64() : -1;
                var epoch = version >= 3 ? r.ReadInt16() : (short)-1;
                return new TxnRequest(apiKey, version, id, pid, epoch) { TimeoutMs = timeout };
            }

            case AddPartitionsToTxn when version < FirstBatchedAddPartitionsVersion:
                return ReadAddPartitionsTransaction(ref r, version, flexible);

            case AddOffsetsToTxn:
                return new TxnRequest(apiKey, version, r.ReadString(flexible), r.ReadInt64(), r.ReadInt16()) { GroupId = r.ReadString(flexible) };

            case EndTxn:
                return new TxnRequest(apiKey, version, r.ReadString(flexible), r.ReadInt64(), r.ReadInt16()) { Commit = r.ReadInt8() != 0 };

            case TxnOffsetCommit:
            {
                var id = r.ReadString(flexible);
                var group = r.ReadString(flexible);
                var request = new TxnRequest(apiKey, version, id, r.ReadInt64(), r.ReadInt16()) { GroupId = group };
                if (version >= 3)
                {
                    request = request with { GenerationId = r.ReadInt32(), MemberId = r.ReadString(flexible) ?? "" };
                    _ = r.ReadString(flexible); // group instance id
                }

                r.ReadTopics(flexible, (ref WireReader r, string topic) =>
                {
                    var partition = r.ReadInt32();
                    var offset = r.ReadInt64();
                    if (version >= 2)
                    {
                        _ = r.ReadInt32(); // committed leader epoch
                    }

                    request.Offsets.Add(new TxnOffset(topic, partition, offset, r.ReadString(flexible)));
                    r.SkipTaggedFieldsIf(flexible);
                });
                return request;
            }

            default:
                return null;
        }
    }

    /// <summary>The group, generation and member id a Heartbeat or SyncGroup request (any version) starts with.</summary>
    public static GroupMember ReadGroupMember(ReadOnlySpan<byte> frame, short apiKey, short version)
    {
        var flexible = IsFlexible(apiKey, version);
        var r = WireReader.AtRequestBody(frame, flexible);
        var group = r.ReadString(flexible) ?? "";
        var generation = r.ReadInt32();
        return new GroupMember(group, generation, r.ReadString(flexible) ?? "");
    }

    /// <summary>The error code of a Heartbeat or SyncGroup answer (throttle time first from v1).</summary>
    public static short ReadGroupAnswerError(ReadOnlySpan<byte> frame, short apiKey, short version)
    {
        var r = WireReader.AtResponseBody(frame, IsFlexible(apiKey, version));
        if (version >= 1)
        {
            _ = r.ReadInt32(); // throttle time
        }

        return r.ReadInt16();
    }

    /// <summary>The transactions of an AddPartitionsToTxn request: one before v4, a list from v4.</summary>
    public static List<TxnRequest> ReadAddPartitionsToTxn(ReadOnlySpan<byte> frame, short version)
    {
        var flexible = IsFlexible(AddPartitionsToTxn, version);
        var r = WireReader.AtRequestBody(frame, flexible);
        if (version < FirstBatchedAddPartitionsVersion)
        {
            return [ReadAddPartitionsTransaction(ref r, version, flexible)];
        }

        var transactions = new List<TxnRequest>();
        var count = r.ReadArrayLength(flexible);
        for (var i = 0; i < count; i++)
        {
            transactions.Add(ReadAddPartitionsTransaction(ref r, version, flexible));
            r.SkipTaggedFields();
        }

        return transactions;
    }

    private static TxnRequest ReadAddPartitionsTransaction(ref WireReader r, short version, bool flexible)
    {
        var request = new TxnRequest(AddPartitionsToTxn, version, r.ReadString(flexible), r.ReadInt64(), r.ReadInt16())
        {
            VerifyOnly = version >= FirstBatchedAddPartitionsVersion && r.ReadInt8() != 0,
        };
        r.ReadTopics(flexible, (ref WireReader r, string topic) => request.Partitions.Add((topic, r.ReadInt32())));
        return request;
    }

    /// <summary>Error code, producer id and epoch of an InitProducerId answer.</summary>
    public static (short Error, long ProducerId, short Epoch) ReadInitProducerIdResponse(ReadOnlySpan<byte> frame, short version)
    {
        var r = WireReader.AtResponseBody(frame, IsFlexible(InitProducerId, version));
        _ = r.ReadInt32(); // throttle
        return (r.ReadInt16(), r.ReadInt64(), r.ReadInt16());
    }

    /// <summary>The error code of an answer whose body is throttle_time_ms then error_code (EndTxn, AddOffsetsToTxn); for
    /// EndTxn v5+ (KIP-890) also the producer id and the epoch of the next transaction, else -1.</summary>
    public static (short Error, long ProducerId, short Epoch) ReadThrottleThenError(ReadOnlySpan<byte> frame, short apiKey, short version)
    {
        var r = WireReader.AtResponseBody(frame, IsFlexible(apiKey, version));
        _ = r.ReadInt32(); // throttle
        var error = r.ReadInt16();
        return apiKey == EndTxn && version >= 5 && r.Remaining >= 10 ? (error, r.ReadInt64(), r.ReadInt16()) : (error, -1, -1);
    }

    /// <summary>Per partition the error code of an AddPartitionsToTxn answer: from v4 of every transaction, keyed by
    /// transactional id (null before v4). <paramref name="topLevelError"/> (v4+, else 0) applies to every partition.</summary>
    public static List<(string? TransactionalId, string Topic, int Partition, short Error)> ReadAddPartitionsToTxnResponse(
        ReadOnlySpan<byte> frame, short version, out short topLevelError)
    {
        var flexible = IsFlexible(AddPartitionsToTxn, version);
        var r = WireReader.AtResponseBody(frame, flexible);
        _ = r.ReadInt32(); // throttle
        var result = new List<(string?, string, int, short)>();
        topLevelError = 0;
        if (version < FirstBatchedAddPartitionsVersion)
        {
            ReadTopicErrors(ref r, flexible, (topic, partition, error) => result.Add((null, topic, partition, error)));
            return result;
        }

        topLevelError = r.ReadInt16();
        var count = r.ReadArrayLength(flexible);
        for (var i = 0; i < count; i++)
        {
            var id = r.ReadString(flexible);
            ReadTopicErrors(ref r, flexible, (topic, partition, error) => result.Add((id, topic, partition, error)));
            r.SkipTaggedFields();
        }

        return result;
    }

    /// <summary>The per-partition errors of an answer shaped throttle, [name, [partition, error]] (TxnOffsetCommit;
    /// OffsetCommit v2 without the throttle).</summary>
    public static List<(string Topic, int Partition, short Error)> ReadPartitionErrors(ReadOnlySpan<byte> frame, short apiKey, short version, bool hasThrottle = true)
    {
        var flexible = IsFlexible(apiKey, version);
        var r = WireReader.AtResponseBody(frame, flexible);
        if (hasThrottle)
        {
            _ = r.ReadInt32();
        }

        var result = new List<(string, int, short)>();
        ReadTopicErrors(ref r, flexible, (topic, partition, error) => result.Add((topic, partition, error)));
        return result;
    }

    /// <summary>Reads [name, [partition, error]], handing each partition's error to <paramref name="add"/>.</summary>
    private static void ReadTopicErrors(ref WireReader r, bool flexible, Action<string, int, short> add) =>
        r.ReadTopics(flexible, (ref WireReader r, string topic) =>
        {
            add(topic, r.ReadInt32(), r.ReadInt16());
            r.SkipTaggedFieldsIf(flexible);
        });

    /// <summary>An InitProducerId answer in <paramref name="version"/>, with its size prefix.</summary>
    public static byte[] InitProducerIdResponse(int correlationId, short version, short error, long producerId, short epoch)
    {
        var flexible = IsFlexible(InitProducerId, version);
        var w = ResponseStart(correlationId, flexible);
        w.Int32(0);
        w.Int16(error);
        w.Int64(producerId);
        w.Int16(epoch);
        w.TagsIf(flexible);
        return w.Framed();
    }

    /// <summary>An answer of throttle then error (EndTxn, AddOffsetsToTxn v0-4), with its size prefix.</summary>
    public static byte[] ThrottleThenErrorResponse(int correlationId, short apiKey, short version, short error)
    {
        var flexible = IsFlexible(apiKey, version);
        var w = ResponseStart(correlationId, flexible);
        w.Int32(0);
        w.Int16(error);
        if (apiKey == EndTxn && version >= 5)
        {
            w.Int64(-1);
            w.Int16(-1);
        }

        w.TagsIf(flexible);
        return w.Framed();
    }

    /// <summary>An answer shaped throttle, [name, [partition, error]] with one error for every partition (AddPartitionsToTxn
    /// v0-3, TxnOffsetCommit), with its size prefix.</summary>
    public static byte[] PartitionErrorsResponse(int correlationId, short apiKey, short version, IEnumerable<(string Topic, int Partition)> partitions, short error)
    {
        var flexible = IsFlexible(apiKey, version);
        var w = ResponseStart(correlationId, flexible);
        w.Int32(0);
        WriteByTopic(w, partitions, flexible, () => w.Int16(error));
        w.TagsIf(flexible);
        return w.Framed();
    }

    /// <summary>A Produce answer (v3-v11) with <paramref name="error"/> for every partition of the request, with its size prefix.</summary>
    public static byte[] ProduceErrorResponse(int correlationId, short version, IEnumerable<(string Topic, int Partition)> partitions, short error, string message)
    {
        var flexible = IsFlexible(Produce, version);
        var w = ResponseStart(correlationId, flexible);
        WriteByTopic(w, partitions, flexible, () =>
        {
            w.Int16(error);
            w.Int64(-1); // base offset
            if (version >= 2)
            {
                w.Int64(-1); // log append time
            }

            if (version >= 5)
            {
                w.Int64(-1); // log start offset
            }

            if (version >= 8)
            {
                w.ArrayLength(0, flexible); // record errors
                w.String(message, flexible);
            }
        });
        w.Int32(0); // throttle time (v1+)
        w.TagsIf(flexible);
        return w.Framed();
    }

    /// <summary>A FindCoordinator v1 request for the transaction coordinator (key type 1) of <paramref name="transactionalId"/>.</summary>
    public static byte[] FindTransactionCoordinatorRequest(int correlationId, string transactionalId)
    {
        var w = RequestStart(FindCoordinator, 1, correlationId, flexible: false);
        w.String(transactionalId, compact: false);
        w.Bytes([1]); // key type: transaction
        return w.Framed();
    }

    /// <summary>The coordinator's node id in a FindCoordinator v1 answer (without its size prefix), or -1 on an error.</summary>
    public static int ReadFindCoordinatorNode(ReadOnlySpan<byte> frame)
    {
        var r = WireReader.AtResponseBody(frame, flexibleHeader: false);
        _ = r.ReadInt32(); // throttle time
        var error = r.ReadInt16();
        _ = r.ReadString(compact: false); // error message
        var node = r.ReadInt32();
        return error == 0 ? node : -1;
    }

    /// <summary>
    /// librdkafka's mock answers FindCoordinator v0-v3 with an error (a pushed one, or no coordinator) and a null host,
    /// which Kafka's schema does not allow (a broker writes an empty host), so a client that reads the answer strictly
    /// fails to decode it and never sees the error code. Writes the empty host in place of the null one (the same size);
    /// <paramref name="frame"/> is the answer without its size prefix. v4+ (one entry per key) is left as it is: the mock
    /// does not offer it.
    /// </summary>
    public static void GiveANullCoordinatorHostAnEmptyOne(Span<byte> frame, short version)
    {
        if (version > 3)
        {
            return;
        }

        var flexible = IsFlexible(FindCoordinator, version);
        var r = WireReader.AtResponseBody(frame, flexible);
        if (version >= 1)
        {
            _ = r.ReadInt32(); // throttle time
        }

        _ = r.ReadInt16(); // error code
        if (version >= 1)
        {
            _ = r.ReadString(flexible); // error message
        }

        _ = r.ReadInt32(); // node id
        var host = frame[r.Position..];
        if (flexible && host[0] == 0)
        {
            host[0] = 1; // compact string: length + 1, so 0 is null and 1 is empty
        }
        else if (!flexible && BinaryPrimitives.ReadInt16BigEndian(host) == -1)
        {
            BinaryPrimitives.WriteInt16BigEndian(host, 0);
        }
    }

    /// <summary>An InitProducerId v3 request (flexible: header v2) that bumps <paramref name="producerId"/>'s epoch (KIP-360).</summary>
    public static byte[] InitProducerIdRequest(int correlationId, string transactionalId, int timeoutMs, long producerId, short epoch)
    {
        var w = RequestStart(InitProducerId, 3, correlationId, flexible: true);
        w.String(transactionalId, compact: true);
        w.Int32(timeoutMs);
        w.Int64(producerId);
        w.Int16(epoch);
        w.Tags();
        return w.Framed();
    }

    /// <summary>An EndTxn v1 request.</summary>
    public static byte[] EndTxnRequest(int correlationId, string transactionalId, long producerId, short epoch, bool commit)
    {
        var w = RequestStart(EndTxn, 1, correlationId, flexible: false);
        w.String(transactionalId, compact: false);
        w.Int64(producerId);
        w.Int16(epoch);
        w.Bytes([commit ? (byte)1 : (byte)0]);
        return w.Framed();
    }

    /// <summary>An OffsetCommit v2 request (generation, member id, retention -1).</summary>
    public static byte[] OffsetCommitRequest(int correlationId, string groupId, int generationId, string memberId, IReadOnlyCollection<TxnOffset> offsets)
    {
        var w = RequestStart(OffsetCommit, 2, correlationId, flexible: false);
        w.String(groupId, compact: false);
        w.Int32(generationId);
        w.String(memberId, compact: false);
        w.Int64(-1); // retention: the broker's default
        var byTopic = offsets.GroupBy(o => o.Topic).ToList();
        w.Int32(byTopic.Count);
        foreach (var topic in byTopic)
        {
            w.String(topic.Key, compact: false);
            w.Int32(topic.Count());
            foreach (var o in topic)
            {
                w.Int32(o.Partition);
                w.Int64(o.Offset);
                w.NullableString(o.Metadata, compact: false);
            }
        }

        return w.Framed();
    }

    /// <summary>Writes <paramref name="partitions"/> as [name, [partition, answer, tags], tags]: each distinct partition
    /// once under its topic, its answer's fields from <paramref name="writeAnswer"/>.</summary>
    private static void WriteByTopic(WireWriter w, IEnumerable<(string Topic, int Partition)> partitions, bool flexible, Action writeAnswer)
    {
        var byTopic = partitions.GroupBy(p => p.Topic).ToList();
        w.ArrayLength(byTopic.Count, flexible);
        foreach (var topic in byTopic)
        {
            w.String(topic.Key, flexible);
            var list = topic.Select(p => p.Partition).Distinct().ToList();
            w.ArrayLength(list.Count, flexible);
            foreach (var p in list)
            {
                w.Int32(p);
                writeAnswer();
                w.TagsIf(flexible);
            }

            w.TagsIf(flexible);
        }
    }

    private static WireWriter RequestStart(short apiKey, short version, int correlationId, bool flexible)
    {
        var w = new WireWriter();
        w.Int16(apiKey);
        w.Int16(version);
        w.Int32(correlationId);
        w.String("samsa-txn-front", compact: false);
        w.TagsIf(flexible);
        return w;
    }

    private static WireWriter ResponseStart(int correlationId, bool flexible)
    {
        var w = new WireWriter();
        w.Int32(correlationId);
        w.TagsIf(flexible);
        return w;
    }
}

/// <summary>The fixed header of a v2 record batch (KIP-98), read in place.</summary>
internal static class RecordBatch
{
    public const int HeaderSize = 61;
    public const int CrcOffset = 17;
    public const int AttributesOffset = 21;

    /// <summary>The whole batch's size: the base offset and length fields plus what the length counts.</summary>
    public static int Size(ReadOnlySpan<byte> batch) => 12 + BinaryPrimitives.ReadInt32BigEndian(batch[8..]);

    public static long BaseOffset(ReadOnlySpan<byte> batch) => BinaryPrimitives.ReadInt64BigEndian(batch);

    public static byte Magic(ReadOnlySpan<byte> batch) => batch[16];

    public static short Attributes(ReadOnlySpan<byte> batch) => BinaryPrimitives.ReadInt16BigEndian(batch[AttributesOffset..]);

    public static int LastOffsetDelta(ReadOnlySpan<byte> batch) => BinaryPrimitives.ReadInt32BigEndian(batch[23..]);

    public static long LastOffset(ReadOnlySpan<byte> batch) => BaseOffset(batch) + LastOffsetDelta(batch);

    public static long ProducerId(ReadOnlySpan<byte> batch) => BinaryPrimitives.ReadInt64BigEndian(batch[43..]);

    public static short Epoch(ReadOnlySpan<byte> batch) => BinaryPrimitives.ReadInt16BigEndian(batch[51..]);

    public static int BaseSequence(ReadOnlySpan<byte> batch) => BinaryPrimitives.ReadInt32BigEndian(batch[53..]);

    public static int RecordCount(ReadOnlySpan<byte> batch) => BinaryPrimitives.ReadInt32BigEndian(batch[57..]);

    public static uint Crc(ReadOnlySpan<byte> batch) => BinaryPrimitives.ReadUInt32BigEndian(batch[CrcOffset..]);

    /// <summary>The type in the key of a control batch's (uncompressed) first record: 0 for an ABORT marker, 1 for a
    /// COMMIT marker; -1 when the batch holds no readable control record.</summary>
    public static short ControlType(ReadOnlySpan<byte> batch)
    {
        try
        {
            var r = new WireReader(batch[HeaderSize..]);
            _ = r.ReadVarInt(); // record length
            _ = r.ReadInt8(); // attributes
            _ = r.ReadVarLong(); // timestamp delta
            _ = r.ReadVarInt(); // offset delta
            if (r.ReadVarInt() < 4)
            {
                return -1;
            }

            _ = r.ReadInt16(); // control record version
            return r.ReadInt16();
        }
        catch (FormatException)
        {
            return -1;
        }
    }

    /// <summary>Writes the CRC-32C of the batch (attributes to the end) into its CRC field.</summary>
    public static void WriteCrc(Span<byte> batch) =>
        BinaryPrimitives.WriteUInt32BigEndian(batch[CrcOffset..], Crc32C.Compute(batch[AttributesOffset..]));
}

/// <summary>CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the record batch checksum; table-driven, one byte at a time.</summary>
internal static class Crc32C
{
    private static readonly uint[] Table = BuildTable();

    public static uint Compute(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        }

        return ~crc;
    }

    private static uint[] BuildTable()
    {
        var table = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            var c = i;
            for (var k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? 0x82F63B78u ^ (c >> 1) : c >> 1;
            }

            table[i] = c;
        }

        return table;
    }
}
