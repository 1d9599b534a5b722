namespace Samsa.Testing.Proxy;

/// <summary>The request header fields the transaction oracle needs.</summary>
internal readonly record struct RequestHeader(short ApiKey, short Version, int CorrelationId);

/// <summary>
/// Decodes the transaction APIs' requests and answers (InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn,
/// EndTxn, TxnOffsetCommit) as far as <see cref="TransactionOracle"/> needs them. Field layouts from Apache
/// Kafka's JSON message definitions; versions above the definitions we have are read with the layout of the
/// highest one (KIP-890: TxnOffsetCommit v5 and Produce v12 only announce new broker behaviour, and EndTxn v5
/// adds the producer id and epoch to its answer, which the JSON already lists).
/// </summary>
internal static class TxnCodec
{
    public const short InitProducerIdKey = 22;
    public const short AddPartitionsToTxnKey = 24;
    public const short AddOffsetsToTxnKey = 25;
    public const short EndTxnKey = 26;
    public const short TxnOffsetCommitKey = 28;

    /// <summary>The first flexible version of each API the oracle decodes (-1: unknown API).</summary>
    public static short FirstFlexibleVersion(short apiKey) => apiKey switch
    {
        0 => ProduceCodec.FirstFlexibleVersion,
        InitProducerIdKey => 2,
        AddPartitionsToTxnKey or AddOffsetsToTxnKey or EndTxnKey or TxnOffsetCommitKey => 3,
        _ => -1,
    };

    /// <summary>Reads the request header and leaves <paramref name="r"/> at the body.</summary>
    public static RequestHeader ReadHeader(ref WireReader r)
    {
        var apiKey = r.ReadInt16();
        var version = r.ReadInt16();
        var correlationId = r.ReadInt32();
        _ = r.ReadString(compact: false); // client id: a classic string even in header v2
        var firstFlexible = FirstFlexibleVersion(apiKey);
        if (firstFlexible >= 0 && version >= firstFlexible)
        {
            r.SkipTaggedFields();
        }

        return new RequestHeader(apiKey, version, correlationId);
    }

    /// <summary>Leaves <paramref name="r"/> after the response header (correlation id, and tagged fields when flexible).</summary>
    public static int ReadResponseHeader(ref WireReader r, short apiKey, short version)
    {
        var correlationId = r.ReadInt32();
        var firstFlexible = FirstFlexibleVersion(apiKey);
        if (firstFlexible >= 0 && version >= firstFlexible)
        {
            r.SkipTaggedFields();
        }

        return correlationId;
    }

    private static bool Flexible(short apiKey, short version) => version >= FirstFlexibleVersion(apiKey);

    public static (string? TransactionalId, long ProducerId, short Epoch) ReadInitProducerIdRequest(ref WireReader r, short version)
    {
        var flexible = Flexible(InitProducerIdKey, version);
        var id = r.ReadString(flexible);
        _ = r.ReadInt32(); // transaction timeout
        return version >= 3 ? (id, r.ReadInt64(), r.ReadInt16()) : (id, -1, -1);
    }

    public static (short Error, long ProducerId, short Epoch) ReadInitProducerIdResponse(ref WireReader r)
    {
        _ = r.ReadInt32(); // throttle
        return (r.ReadInt16(), r.ReadInt64(), r.ReadInt16());
    }

    /// <summary>The transactions of an AddPartitionsToTxn request (one before v4, a list from v4).</summary>
    public static List<(string TransactionalId, long ProducerId, short Epoch, bool VerifyOnly, List<TopicPartition> Partitions)> ReadAddPartitionsRequest(ref WireReader r, short version)
    {
        var flexible = Flexible(AddPartitionsToTxnKey, version);
        var result = new List<(string, long, short, bool, List<TopicPartition>)>();
        if (version <= 3)
        {
            var id = r.ReadString(flexible) ?? "";
            var pid = r.ReadInt64();
            var epoch = r.ReadInt16();
            result.Add((id, pid, epoch, false, ReadTopicPartitions(ref r, flexible)));
            return result;
        }

        var count = r.ReadArrayLength(flexible);
        for (var i = 0; i < count; i++)
        {
            var id = r.ReadString(flexible) ?? "";
            var pid = r.ReadInt64();
            var epoch = r.ReadInt16();
            var verifyOnly = r.ReadInt8() != 0;
            result.Add((id, pid, epoch, verifyOnly, ReadTopicPartitions(ref r, flexible)));
            r.SkipTaggedFields();
        }

        return result;
    }

    private static List<TopicPartition> ReadTopicPartitions(ref WireReader r, bool flexible)
    {
        var partitions = new List<TopicPartition>();
        var topics = r.ReadArrayLength(flexible);
        for (var t = 0; t < topics; t++)
        {
            var name = r.ReadString(flexible) ?? "";
            var n = r.ReadArrayLength(flexible);
            for (var p = 0; p < n; p++)
            {
                partitions.Add(new TopicPartition(name, r.ReadInt32()));
            }

            if (flexible)
            {
                r.SkipTaggedFields();
            }
        }

        return partitions;
    }

    /// <summary>Per partition the error code of an AddPartitionsToTxn answer (v4+: of every transaction, keyed by
    /// transactional id; before v4 the key is null). A top-level error (v4+) applies to every partition.</summary>
    public static List<(string? TransactionalId, TopicPartition Partition, short Error)> ReadAddPartitionsResponse(ref WireReader r, short version, out short topLevelError)
    {
        var flexible = Flexible(AddPartitionsToTxnKey, version);
        _ = r.ReadInt32(); // throttle
        var result = new List<(string?, TopicPartition, short)>();
        topLevelError = 0;
        if (version <= 3)
        {
            ReadTopicResults(ref r, flexible, null, result);
            return result;
        }

        topLevelError = r.ReadInt16();
        var count = r.ReadArrayLength(flexible);
        for (var i = 0; i < count; i++)
        {
            var id = r.ReadString(flexible);
            ReadTopicResults(ref r, flexible, id, result);
            r.SkipTaggedFields();
        }

        return result;
    }

    private static void ReadTopicResults(ref WireReader r, bool flexible, string? id, List<(string?, TopicPartition, short)> into)
    {
        var topics = r.ReadArrayLength(flexible);
        for (var t = 0; t < topics; t++)
        {
            var name = r.ReadString(flexible) ?? "";
            var n = r.ReadArrayLength(flexible);
            for (var p = 0; p < n; p++)
            {
                var partition = r.ReadInt32();
                into.Add((id, new TopicPartition(name, partition), r.ReadInt16()));
                if (flexible)
                {
                    r.SkipTaggedFields();
                }
            }

            if (flexible)
            {
                r.SkipTaggedFields();
            }
        }
    }

    public static (string TransactionalId, long ProducerId, short Epoch, string GroupId) ReadAddOffsetsRequest(ref WireReader r, short version)
    {
        var flexible = Flexible(AddOffsetsToTxnKey, version);
        return (r.ReadString(flexible) ?? "", r.ReadInt64(), r.ReadInt16(), r.ReadString(flexible) ?? "");
    }

    /// <summary>The error code of an AddOffsetsToTxn or EndTxn answer; for EndTxn v5+ also the producer id and
    /// the (bumped) epoch, else -1.</summary>
    public static (short Error, long ProducerId, short Epoch) ReadErrorResponse(ref WireReader r, short apiKey, short version)
    {
        _ = r.ReadInt32(); // throttle
        var error = r.ReadInt16();
        return apiKey == EndTxnKey && version >= 5 && r.Remaining >= 10 ? (error, r.ReadInt64(), r.ReadInt16()) : (error, -1, -1);
    }

    public static (string TransactionalId, long ProducerId, short Epoch, bool Committed) ReadEndTxnRequest(ref WireReader r, short version)
    {
        var flexible = Flexible(EndTxnKey, version);
        return (r.ReadString(flexible) ?? "", r.ReadInt64(), r.ReadInt16(), r.ReadInt8() != 0);
    }

    public static (string TransactionalId, string GroupId, long ProducerId, short Epoch, List<(TopicPartition Partition, long Offset)> Offsets) ReadTxnOffsetCommitRequest(ref WireReader r, short version)
    {
        var flexible = Flexible(TxnOffsetCommitKey, version);
        var id = r.ReadString(flexible) ?? "";
        var group = r.ReadString(flexible) ?? "";
        var pid = r.ReadInt64();
        var epoch = r.ReadInt16();
        if (version >= 3)
        {
            _ = r.ReadInt32(); // generation
            _ = r.ReadString(flexible); // member id
            _ = r.ReadString(flexible); // group instance id
        }

        var offsets = new List<(TopicPartition, long)>();
        var topics = r.ReadArrayLength(flexible);
        for (var t = 0; t < topics; t++)
        {
            var name = r.ReadString(flexible) ?? "";
            var n = r.ReadArrayLength(flexible);
            for (var p = 0; p < n; p++)
            {
                var partition = r.ReadInt32();
                var offset = r.ReadInt64();
                if (version >= 2)
                {
                    _ = r.ReadInt32(); // leader epoch
                }

                _ = r.ReadString(flexible); // metadata
                if (flexible)
                {
                    r.SkipTaggedFields();
                }

                offsets.Add((new TopicPartition(name, partition), offset));
            }

            if (flexible)
            {
                r.SkipTaggedFields();
            }
        }

        return (id, group, pid, epoch, offsets);
    }

    public static List<(TopicPartition Partition, short Error)> ReadTxnOffsetCommitResponse(ref WireReader r, short version)
    {
        var flexible = Flexible(TxnOffsetCommitKey, version);
        _ = r.ReadInt32(); // throttle
        var result = new List<(TopicPartition, short)>();
        var topics = r.ReadArrayLength(flexible);
        for (var t = 0; t < topics; t++)
        {
            var name = r.ReadString(flexible) ?? "";
            var n = r.ReadArrayLength(flexible);
            for (var p = 0; p < n; p++)
            {
                var partition = r.ReadInt32();
                result.Add((new TopicPartition(name, partition), r.ReadInt16()));
                if (flexible)
                {
                    r.SkipTaggedFields();
                }
            }

            if (flexible)
            {
                r.SkipTaggedFields();
            }
        }

        return result;
    }
}
