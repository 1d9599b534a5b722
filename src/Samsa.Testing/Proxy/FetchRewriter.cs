using System.Buffers.Binary;

namespace Samsa.Testing.Proxy;

/// <summary>A whole batch in a Fetch answer's records; <paramref name="ControlType"/> is a control batch's marker type
/// (<see cref="RecordBatch.ControlType"/>), -1 for a data batch.</summary>
internal readonly record struct FetchedBatch(long BaseOffset, long LastOffset, long ProducerId, short Attributes, short ControlType = -1)
{
    public bool IsControl => (Attributes & TxnWire.ControlBit) != 0;

    public bool IsTransactional => (Attributes & TxnWire.TransactionalBit) != 0;
}

/// <summary>What the transaction front decides for one partition of a Fetch answer.</summary>
internal readonly record struct FetchFix(long LastStableOffset, List<(long ProducerId, long FirstOffset)>? Aborted);

/// <summary>
/// Rewrites the mock's Fetch (v4-v11), ListOffsets and ApiVersions answers into what a Kafka broker with the same log
/// would answer: the last stable offset, the aborted transactions, records of a read_committed fetch cut at the last
/// stable offset, and the CRC-32C of control batches the mock writes with a zero CRC.
/// </summary>
internal static class FetchRewriter
{
    /// <summary>The highest Fetch version the front lets clients use: v12+ is flexible (and v13+ names topics by id),
    /// which the rewriter does not handle. librdkafka then fetches with v11.</summary>
    public const short MaxFetchVersion = 11;

    private const short UnstableOffsetCommit = 88;

    /// <summary>The isolation level (v4+; 0 before) and max wait of a Fetch request.</summary>
    public static (bool ReadCommitted, int MaxWaitMs) ReadFetchRequest(ReadOnlySpan<byte> frame, short version)
    {
        var r = WireReader.AtRequestBody(frame, TxnWire.IsFlexible(TxnWire.Fetch, version));
        if (version < 15)
        {
            _ = r.ReadInt32(); // replica id
        }

        var maxWait = r.ReadInt32();
        r.Skip(version >= 3 ? 8 : 4); // min bytes, max bytes
        return (version >= 4 && r.ReadInt8() == 1, maxWait);
    }

    /// <summary>
    /// The Fetch answer <paramref name="frame"/> (with its size prefix) rewritten: <paramref name="fix"/> is asked, per
    /// partition, for the last stable offset and the aborted transactions given the high watermark and the whole batches
    /// in the answer. Versions outside v4-v11 are returned with only the CRCs fixed (in place).
    /// </summary>
    /// <param name="frame">The answer.</param>
    /// <param name="version">Its version.</param>
    /// <param name="readCommitted">Whether the request asked for read_committed.</param>
    /// <param name="fix">Asked for each partition's last stable offset and aborted transactions.</param>
    /// <param name="fixedCrcs">How many control batches got their CRC.</param>
    /// <param name="heldBack">True when records were cut at the last stable offset and none is left in the answer: a real
    /// broker would have waited for data (up to the request's max wait) instead of answering at once.</param>
    public static byte[] RewriteFetch(byte[] frame, short version, bool readCommitted, Func<string, int, long, List<FetchedBatch>, FetchFix> fix, out int fixedCrcs, out bool heldBack)
    {
        fixedCrcs = 0;
        heldBack = false;
        var anyLeft = false;
        if (version is < 4 or > MaxFetchVersion)
        {
            return frame;
        }

        var r = new WireReader(frame.AsSpan(4));
        var w = new WireWriter();
        w.Int32(r.ReadInt32()); // correlation id
        w.Int32(r.ReadInt32()); // throttle
        if (version >= 7)
        {
            w.Int16(r.ReadInt16()); // error
            w.Int32(r.ReadInt32()); // session id
        }

        var topics = r.ReadArrayLength(compact: false);
        w.Int32(topics);
        for (var t = 0; t < topics; t++)
        {
            var topic = r.ReadString(compact: false) ?? "";
            w.String(topic, compact: false);
            var partitions = r.ReadArrayLength(compact: false);
            w.Int32(partitions);
            for (var p = 0; p < partitions; p++)
            {
                var partition = r.ReadInt32();
                var error = r.ReadInt16();
                var highWatermark = r.ReadInt64();
                _ = r.ReadInt64(); // the mock's last stable offset: its high watermark
                var logStart = version >= 5 ? r.ReadInt64() : -1;
                var aborted = r.ReadArrayLength(compact: false);
                r.Skip(Math.Max(aborted, 0) * 16);
                var preferredReplica = version >= 11 ? r.ReadInt32() : -1;
                var records = r.ReadBytes(compact: false, out var recordsNull).ToArray();

                var batches = Scan(records, ref fixedCrcs, out var wholeLength);
                var decided = error == 0 ? fix(topic, partition, highWatermark, batches) : new FetchFix(highWatermark, null);
                var keep = records.Length;
                if (readCommitted && error == 0)
                {
                    // A real broker reads a read_committed fetch only up to the last stable offset.
                    var cut = batches.FindIndex(b => b.BaseOffset >= decided.LastStableOffset);
                    if (cut >= 0)
                    {
                        heldBack = true;
                        keep = Offset(records, cut);
                        batches.RemoveRange(cut, batches.Count - cut);
                    }
                    else if (wholeLength < records.Length && records.Length - wholeLength >= 8
                             && BinaryPrimitives.ReadInt64BigEndian(records.AsSpan(wholeLength)) >= decided.LastStableOffset)
                    {
                        keep = wholeLength; // a partial batch past the stable offset
                    }
                }

                w.Int32(partition);
                w.Int16(error);
                w.Int64(highWatermark);
                w.Int64(decided.LastStableOffset);
                if (version >= 5)
                {
                    w.Int64(logStart);
                }

                var list = readCommitted && batches.Count > 0
                    ? decided.Aborted?.Where(a => a.FirstOffset <= batches[^1].LastOffset).ToList()
                    : null;
                if (list is null)
                {
                    w.Int32(readCommitted ? 0 : -1);
                }
                else
                {
                    w.Int32(list.Count);
                    foreach (var (producerId, firstOffset) in list)
                    {
                        w.Int64(producerId);
                        w.Int64(firstOffset);
                    }
                }

                if (version >= 11)
                {
                    w.Int32(preferredReplica);
                }

                if (recordsNull)
                {
                    w.Int32(-1);
                }
                else
                {
                    w.Int32(keep);
                    w.Bytes(records.AsSpan(0, keep));
                    anyLeft |= keep > 0;
                }
            }
        }

        w.Bytes(r.Take(r.Remaining)); // nothing: non-flexible answers end here
        heldBack &= !anyLeft;
        return w.Framed();
    }

    /// <summary>The whole batches of <paramref name="records"/>; fixes (in place) the CRC of control batches written with 0.</summary>
    private static List<FetchedBatch> Scan(Span<byte> records, ref int fixedCrcs, out int wholeLength)
    {
        var batches = new List<FetchedBatch>();
        var at = 0;
        while (records.Length - at >= RecordBatch.HeaderSize)
        {
            var batch = records[at..];
            var size = RecordBatch.Size(batch);
            if (size < RecordBatch.HeaderSize || size > batch.Length || RecordBatch.Magic(batch) != 2)
            {
                break;
            }

            batch = batch[..size];
            var attributes = RecordBatch.Attributes(batch);
            if ((attributes & TxnWire.ControlBit) != 0 && RecordBatch.Crc(batch) == 0)
            {
                RecordBatch.WriteCrc(batch);
                fixedCrcs++;
            }

            var isControl = (attributes & TxnWire.ControlBit) != 0;
            batches.Add(new FetchedBatch(RecordBatch.BaseOffset(batch), RecordBatch.LastOffset(batch), RecordBatch.ProducerId(batch), attributes,
                isControl ? RecordBatch.ControlType(batch) : (short)-1));
            at += size;
        }

        wholeLength = at;
        return batches;
    }

    /// <summary>The byte offset of batch number <paramref name="index"/> in <paramref name="records"/>.</summary>
    private static int Offset(ReadOnlySpan<byte> records, int index)
    {
        var at = 0;
        for (var i = 0; i < index; i++)
        {
            at += RecordBatch.Size(records[at..]);
        }

        return at;
    }

    /// <summary>The partitions of a ListOffsets request asking for the end (timestamp -1) at read_committed (v2+).</summary>
    public static HashSet<(string Topic, int Partition)>? ReadListOffsetsLatestCommitted(ReadOnlySpan<byte> frame, short version)
    {
        if (version < 2)
        {
            return null;
        }

        var flexible = TxnWire.IsFlexible(TxnWire.ListOffsets, version);
        var r = WireReader.AtRequestBody(frame, flexible);
        _ = r.ReadInt32(); // replica id
        if (r.ReadInt8() != 1)
        {
            return null;
        }

        var set = new HashSet<(string, int)>();
        r.ReadTopics(flexible, (ref WireReader r, string topic) =>
        {
            var partition = r.ReadInt32();
            if (version >= 4)
            {
                _ = r.ReadInt32(); // current leader epoch
            }

            if (r.ReadInt64() == -1)
            {
                set.Add((topic, partition));
            }

            r.SkipTaggedFieldsIf(flexible);
        });

        return set.Count == 0 ? null : set;
    }

    /// <summary>Rewrites, in place, the offset answered for each partition of <paramref name="latest"/> with
    /// <paramref name="stable"/>(topic, partition, answered offset): a read_committed client asking for the end gets the
    /// last stable offset.</summary>
    public static void RewriteListOffsets(byte[] frame, short version, HashSet<(string Topic, int Partition)> latest, Func<string, int, long, long> stable)
    {
        var flexible = TxnWire.IsFlexible(TxnWire.ListOffsets, version);
        var r = WireReader.AtResponseBody(frame.AsSpan(4), flexible);
        _ = r.ReadInt32(); // throttle (v2+)
        r.ReadTopics(flexible, (ref WireReader r, string topic) =>
        {
            var partition = r.ReadInt32();
            var error = r.ReadInt16();
            _ = r.ReadInt64(); // timestamp
            var offsetAt = 4 + r.Position;
            var offset = r.ReadInt64();
            if (version >= 4)
            {
                _ = r.ReadInt32(); // leader epoch
            }

            r.SkipTaggedFieldsIf(flexible);
            if (error == 0 && offset >= 0 && latest.Contains((topic, partition)))
            {
                BinaryPrimitives.WriteInt64BigEndian(frame.AsSpan(offsetAt), stable(topic, partition, offset));
            }
        });
    }

    /// <summary>The groups of an OffsetFetch request that asks for stable offsets only (v7+, require_stable, KIP-447),
    /// null when it does not; <paramref name="requireStableAt"/> is where that flag sits in <paramref name="frame"/>.</summary>
    public static HashSet<string>? ReadOffsetFetchRequireStable(ReadOnlySpan<byte> frame, short version, out int requireStableAt)
    {
        requireStableAt = -1;
        if (version < 7)
        {
            return null;
        }

        var flexible = TxnWire.IsFlexible(TxnWire.OffsetFetch, version);
        var r = WireReader.AtRequestBody(frame, flexible);
        var groups = new HashSet<string>(StringComparer.Ordinal);
        var groupCount = version >= 8 ? r.ReadArrayLength(flexible) : 1;
        for (var g = 0; g < groupCount; g++)
        {
            groups.Add(r.ReadString(flexible) ?? "");
            if (version >= 9)
            {
                _ = r.ReadString(flexible); // member id
                _ = r.ReadInt32(); // member epoch
            }

            var topics = r.ReadArrayLength(flexible);
            for (var t = 0; t < topics; t++)
            {
                _ = r.ReadString(flexible);
                var partitions = r.ReadArrayLength(flexible);
                r.Skip(Math.Max(partitions, 0) * 4);
                r.SkipTaggedFieldsIf(flexible);
            }

            r.SkipTaggedFieldsIf(version >= 8 && flexible);
        }

        requireStableAt = r.Position;
        return r.ReadInt8() != 0 ? groups : null;
    }

    /// <summary>
    /// An OffsetFetch v7 request (without its size prefix) as v6, which the mock knows: v7 only adds require_stable
    /// (KIP-447) before the tagged fields, and the answers of both versions have the same layout. Returned with its size prefix.
    /// </summary>
    public static byte[] OffsetFetchV7AsV6(ReadOnlySpan<byte> frame, int requireStableAt)
    {
        var result = new byte[4 + frame.Length - 1];
        BinaryPrimitives.WriteInt32BigEndian(result, frame.Length - 1);
        frame[..requireStableAt].CopyTo(result.AsSpan(4));
        frame[(requireStableAt + 1)..].CopyTo(result.AsSpan(4 + requireStableAt));
        BinaryPrimitives.WriteInt16BigEndian(result.AsSpan(6), 6); // the header's api version
        return result;
    }

    /// <summary>Rewrites, in place, each partition of an OffsetFetch answer (v7+) that <paramref name="pending"/>(group,
    /// topic, partition) says has transactional offsets waiting for their transaction: offset -1 and UNSTABLE_OFFSET_COMMIT
    /// (88), as a broker answers a client that asked for stable offsets (KIP-447); the client retries.</summary>
    public static void RewriteOffsetFetch(byte[] frame, short version, string? singleGroup, Func<string, string, int, bool> pending)
    {
        var flexible = TxnWire.IsFlexible(TxnWire.OffsetFetch, version);
        var r = WireReader.AtResponseBody(frame.AsSpan(4), flexible);
        _ = r.ReadInt32(); // throttle (v3+)
        var groupCount = version >= 8 ? r.ReadArrayLength(flexible) : 1;
        for (var g = 0; g < groupCount; g++)
        {
            var group = version >= 8 ? r.ReadString(flexible) ?? "" : singleGroup ?? "";
            r.ReadTopics(flexible, (ref WireReader r, string topic) =>
            {
                var partition = r.ReadInt32();
                var offsetAt = 4 + r.Position;
                _ = r.ReadInt64();
                if (version >= 5)
                {
                    _ = r.ReadInt32(); // leader epoch
                }

                _ = r.ReadString(flexible); // metadata
                var errorAt = 4 + r.Position;
                var error = r.ReadInt16();
                r.SkipTaggedFieldsIf(flexible);
                if (error == 0 && pending(group, topic, partition))
                {
                    BinaryPrimitives.WriteInt64BigEndian(frame.AsSpan(offsetAt), -1);
                    BinaryPrimitives.WriteInt16BigEndian(frame.AsSpan(errorAt), UnstableOffsetCommit);
                }
            });

            if (version >= 8)
            {
                _ = r.ReadInt16(); // group error
                r.SkipTaggedFieldsIf(flexible);
            }
        }
    }

    /// <summary>The ApiVersions answer (with its size prefix) with Fetch advertised up to <see cref="MaxFetchVersion"/>, and
    /// OffsetFetch from v6 up to v7 (require_stable, translated to v6 on the way), in place: the entries keep their size. An
    /// error answer is left unchanged.</summary>
    public static void AdjustVersions(byte[] frame, short version)
    {
        var flexible = version >= 3;
        var r = new WireReader(frame.AsSpan(4));
        _ = r.ReadInt32(); // ApiVersions answers always use response header v0
        if (r.ReadInt16() != 0)
        {
            return;
        }

        var count = r.ReadArrayLength(flexible);
        for (var i = 0; i < count; i++)
        {
            var key = r.ReadInt16();
            var min = r.ReadInt16();
            var maxAt = 4 + r.Position;
            var max = r.ReadInt16();
            if (key == TxnWire.Fetch && max > MaxFetchVersion && min <= MaxFetchVersion)
            {
                BinaryPrimitives.WriteInt16BigEndian(frame.AsSpan(maxAt), MaxFetchVersion);
            }
            else if (key == TxnWire.OffsetFetch && max == 6)
            {
                BinaryPrimitives.WriteInt16BigEndian(frame.AsSpan(maxAt), 7);
            }

            r.SkipTaggedFieldsIf(flexible);
        }
    }
}
