using System.Buffers.Binary;

namespace Samsa.Testing.Proxy;

/// <summary>A whole batch in a Fetch answer's records.</summary>
internal readonly record struct FetchedBatch(long BaseOffset, long LastOffset, long ProducerId, short Attributes)
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

    /// <summary>The isolation level (v4+; 0 before) and max wait of a Fetch request.</summary>
    public static (bool ReadCommitted, int MaxWaitMs) ReadFetchRequest(ReadOnlySpan<byte> frame, short version)
    {
        var r = TxnWire.BodyReader(frame, TxnWire.IsFlexible(TxnWire.Fetch, version));
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
        var w = new TxnWire.Writer();
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
        return w.End();
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

            batches.Add(new FetchedBatch(RecordBatch.BaseOffset(batch), RecordBatch.LastOffset(batch), RecordBatch.ProducerId(batch), attributes));
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
        var r = TxnWire.BodyReader(frame, flexible);
        _ = r.ReadInt32(); // replica id
        if (r.ReadInt8() != 1)
        {
            return null;
        }

        var set = new HashSet<(string, int)>();
        var topics = r.ReadArrayLength(flexible);
        for (var t = 0; t < topics; t++)
        {
            var topic = r.ReadString(flexible) ?? "";
            var partitions = r.ReadArrayLength(flexible);
            for (var p = 0; p < partitions; p++)
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

        return set.Count == 0 ? null : set;
    }

    /// <summary>Rewrites, in place, the offset answered for each partition of <paramref name="latest"/> with
    /// <paramref name="stable"/>(topic, partition, answered offset): a read_committed client asking for the end gets the
    /// last stable offset.</summary>
    public static void RewriteListOffsets(byte[] frame, short version, HashSet<(string Topic, int Partition)> latest, Func<string, int, long, long> stable)
    {
        var flexible = TxnWire.IsFlexible(TxnWire.ListOffsets, version);
        var r = TxnWire.ResponseReader(frame, flexible);
        _ = r.ReadInt32(); // throttle (v2+)
        var topics = r.ReadArrayLength(flexible);
        for (var t = 0; t < topics; t++)
        {
            var topic = r.ReadString(flexible) ?? "";
            var partitions = r.ReadArrayLength(flexible);
            for (var p = 0; p < partitions; p++)
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

                if (flexible)
                {
                    r.SkipTaggedFields();
                }

                if (error == 0 && offset >= 0 && latest.Contains((topic, partition)))
                {
                    BinaryPrimitives.WriteInt64BigEndian(frame.AsSpan(offsetAt), stable(topic, partition, offset));
                }
            }

            if (flexible)
            {
                r.SkipTaggedFields();
            }
        }
    }

    /// <summary>The ApiVersions answer (with its size prefix) with Fetch advertised up to <see cref="MaxFetchVersion"/>, in
    /// place: the entry keeps its size. An error answer is returned unchanged.</summary>
    public static void CapFetchVersion(byte[] frame, short version)
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

            if (flexible)
            {
                r.SkipTaggedFields();
            }
        }
    }
}
