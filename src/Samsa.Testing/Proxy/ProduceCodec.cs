using System.IO.Compression;

namespace Samsa.Testing.Proxy;

/// <summary>One partition's answer in a Produce response; <paramref name="ErrorCodeOffset"/> is where its error
/// code sits in the response (without the size prefix), so that the proxy can rewrite it.</summary>
internal readonly record struct PartitionAnswer(string Topic, int Partition, short ErrorCode, long BaseOffset, int ErrorCodeOffset);

/// <summary>One partition's records field in a Produce request, for <see cref="ProduceCodec.ReadPartitionRecords"/>.</summary>
internal delegate void PartitionRecords(string topic, int partition, ReadOnlySpan<byte> records);

/// <summary>
/// Decodes just enough of Produce requests (v3-v12; flexible from v9; v12 is v11's layout, KIP-890) and responses to judge idempotence:
/// field layouts from Apache Kafka's ProduceRequest.json / ProduceResponse.json.
/// </summary>
internal static class ProduceCodec
{
    public const short FirstFlexibleVersion = 9;

    /// <summary>Produce v3 is the first to carry v2 record batches (and a transactional id).</summary>
    public const short FirstBatchVersion = 3;

    /// <summary>
    /// The batches of a Produce request, per partition. <paramref name="frame"/> is the request without its
    /// size prefix, starting at the request header.
    /// </summary>
    public static List<ProducedBatch> ReadRequest(ReadOnlySpan<byte> frame, short version) => ReadRequest(frame, version, out _);

    /// <summary>As <see cref="ReadRequest(ReadOnlySpan{byte}, short)"/>, with the request's transactional id.</summary>
    public static List<ProducedBatch> ReadRequest(ReadOnlySpan<byte> frame, short version, out string? transactionalId)
    {
        var batches = new List<ProducedBatch>();
        transactionalId = ReadPartitionRecords(frame, version, (topic, partition, records) => ReadBatches(topic, partition, records, batches));
        return batches;
    }

    /// <summary>The transactional id of a Produce request (without its size prefix), its batches left unread.</summary>
    public static string? ReadTransactionalId(ReadOnlySpan<byte> frame, short version)
    {
        var flexible = version >= FirstFlexibleVersion;
        return WireReader.AtRequestBody(frame, flexible).ReadString(flexible);
    }

    /// <summary>Calls <paramref name="visit"/> with each partition's records field (unless null) of a Produce request
    /// (without its size prefix); returns its transactional id.</summary>
    public static string? ReadPartitionRecords(ReadOnlySpan<byte> frame, short version, PartitionRecords visit)
    {
        var flexible = version >= FirstFlexibleVersion;
        var r = WireReader.AtRequestBody(frame, flexible);
        var transactionalId = r.ReadString(flexible);
        _ = r.ReadInt16(); // acks
        _ = r.ReadInt32(); // timeout
        r.ReadTopics(flexible, (ref WireReader r, string topic) =>
        {
            var partition = r.ReadInt32();
            var records = r.ReadBytes(flexible, out var isNull);
            if (!isNull)
            {
                visit(topic, partition, records);
            }

            r.SkipTaggedFieldsIf(flexible);
        });
        return transactionalId;
    }

    /// <summary>
    /// The per-partition error codes of a Produce response. <paramref name="frame"/> is the response without
    /// its size prefix, starting at the correlation id.
    /// </summary>
    public static List<PartitionAnswer> ReadResponse(ReadOnlySpan<byte> frame, short version) => ReadResponse(frame, version, out _);

    /// <summary>As <see cref="ReadResponse(ReadOnlySpan{byte}, short)"/>; <paramref name="throttleOffset"/> is where
    /// throttle_time_ms sits in <paramref name="frame"/> (right after the responses array, from v1), or -1.</summary>
    public static List<PartitionAnswer> ReadResponse(ReadOnlySpan<byte> frame, short version, out int throttleOffset)
    {
        var flexible = version >= FirstFlexibleVersion;
        var r = WireReader.AtResponseBody(frame, flexible);
        var answers = new List<PartitionAnswer>();
        r.ReadTopics(flexible, (ref WireReader r, string topic) =>
        {
            var partition = r.ReadInt32();
            var errorCodeOffset = r.Position;
            var errorCode = r.ReadInt16();
            answers.Add(new PartitionAnswer(topic, partition, errorCode, r.ReadInt64(), errorCodeOffset));
            SkipPartitionRest(ref r, version, flexible);
        });

        throttleOffset = version >= 1 && r.Remaining >= 4 ? r.Position : -1;
        return answers;
    }

    /// <summary>Every v2 batch in a partition's records field (a producer sends one; more are tolerated).</summary>
    public static void ReadBatches(string topic, int partition, ReadOnlySpan<byte> records, List<ProducedBatch> into)
    {
        while (records.Length >= RecordBatch.HeaderSize)
        {
            var size = RecordBatch.Size(records);
            if (RecordBatch.Magic(records) != 2 || size < RecordBatch.HeaderSize || size > records.Length)
            {
                throw new FormatException($"{topic}[{partition}]: not a complete v2 record batch (magic {RecordBatch.Magic(records)}, size {size}, {records.Length} bytes).");
            }

            into.Add(ReadBatch(topic, partition, records[..size]));
            records = records[size..];
        }
    }

    private static ProducedBatch ReadBatch(string topic, int partition, ReadOnlySpan<byte> batch)
    {
        var attributes = RecordBatch.Attributes(batch);
        var producerId = RecordBatch.ProducerId(batch);
        var baseSequence = RecordBatch.BaseSequence(batch);
        var count = RecordBatch.RecordCount(batch);

        var codec = attributes & 0x07;
        var recordBytes = codec switch
        {
            0 => batch[RecordBatch.HeaderSize..],
            // gzip needs nothing beyond the runtime; snappy, lz4 and zstd would need packages the test
            // kit does not take on, so their records stay opaque (counted, not decoded).
            1 => Gunzip(batch[RecordBatch.HeaderSize..]),
            _ => default,
        };
        var decoded = codec is 0 or 1;
        var records = new List<ProducedRecord>(decoded ? count : 0);
        if (decoded)
        {
            var rr = new WireReader(recordBytes);
            for (var i = 0; i < count; i++)
            {
                records.Add(ReadRecord(ref rr, producerId < 0 ? -1 : baseSequence));
            }
        }

        return new ProducedBatch(topic, partition, producerId, RecordBatch.Epoch(batch), baseSequence, count, records)
        {
            IsCompressed = !decoded,
            LastOffsetDelta = RecordBatch.LastOffsetDelta(batch),
            Attributes = attributes,
        };
    }

    private static byte[] Gunzip(ReadOnlySpan<byte> compressed)
    {
        using var input = new MemoryStream(compressed.ToArray());
        using var gzip = new GZipStream(input, CompressionMode.Decompress);
        using var output = new MemoryStream();
        gzip.CopyTo(output);
        return output.ToArray();
    }

    private static ProducedRecord ReadRecord(ref WireReader r, int baseSequence)
    {
        var length = r.ReadVarInt();
        var end = r.Position + length;
        _ = r.ReadInt8(); // attributes
        _ = r.ReadVarLong(); // timestamp delta
        var offsetDelta = r.ReadVarInt();
        var key = ReadVarBytes(ref r);
        var value = ReadVarBytes(ref r);
        r.Skip(end - r.Position); // headers: not needed to identify a record
        return new ProducedRecord(baseSequence < 0 ? -1 : ProducedBatch.AddSequence(baseSequence, offsetDelta), key, value);
    }

    private static byte[]? ReadVarBytes(ref WireReader r)
    {
        var length = r.ReadVarInt();
        return length < 0 ? null : r.Take(length).ToArray();
    }

    /// <summary>Skips what follows the base offset in a partition's answer.</summary>
    private static void SkipPartitionRest(ref WireReader r, short version, bool flexible)
    {
        if (version >= 2)
        {
            r.Skip(8); // log append time
        }

        if (version >= 5)
        {
            r.Skip(8); // log start offset
        }

        if (version >= 8)
        {
            var recordErrors = r.ReadArrayLength(flexible);
            for (var i = 0; i < recordErrors; i++)
            {
                r.Skip(4); // batch index
                _ = r.ReadString(flexible);
                r.SkipTaggedFieldsIf(flexible);
            }

            _ = r.ReadString(flexible); // error message
        }

        r.SkipTaggedFieldsIf(flexible); // holds CurrentLeader (tag 0) from v10
    }
}
