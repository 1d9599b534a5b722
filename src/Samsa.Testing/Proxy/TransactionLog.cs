namespace Samsa.Testing.Proxy;

/// <summary>Where a transaction stands on one partition.</summary>
internal enum TxnRangeState
{
    Open,
    Committed,
    Aborted,
}

/// <summary>One transaction's data on one partition: from its first batch to its last, then its marker.</summary>
internal sealed class TxnRange(long producerId, long firstOffset, long lastDataOffset)
{
    public long ProducerId { get; } = producerId;

    public long FirstOffset { get; } = firstOffset;

    public long LastDataOffset { get; set; } = lastDataOffset;

    /// <summary>The offset of the COMMIT/ABORT marker, once seen in a Fetch answer; null until then.</summary>
    public long? MarkerOffset { get; set; }

    public TxnRangeState State { get; set; }
}

/// <summary>
/// The transactions of one partition as a real broker's producer state keeps them: the open ones (their first offset
/// bounds the last stable offset) and the aborted ones (listed in read_committed Fetch answers). Not thread-safe: the
/// <see cref="TransactionFront"/> holds its lock around every call.
/// </summary>
internal sealed class PartitionTxnLog
{
    private readonly List<TxnRange> _ranges = [];
    private readonly Dictionary<long, TxnRange> _open = [];
    private readonly SortedDictionary<long, TransactionMarker> _markers = [];

    /// <summary>The markers seen in Fetch answers, by offset.</summary>
    public IReadOnlyList<TransactionMarker> Markers => [.. _markers.Values];

    /// <summary>A transactional batch of <paramref name="producerId"/> stored at <paramref name="baseOffset"/>..<paramref name="lastOffset"/>.</summary>
    public void Append(long producerId, long baseOffset, long lastOffset)
    {
        if (_open.TryGetValue(producerId, out var range))
        {
            range.LastDataOffset = Math.Max(range.LastDataOffset, lastOffset);
            return;
        }

        range = new TxnRange(producerId, baseOffset, lastOffset);
        _open[producerId] = range;
        _ranges.Add(range);
    }

    /// <summary>Ends <paramref name="producerId"/>'s open transaction here, if any; true if there was one.</summary>
    public bool End(long producerId, bool commit)
    {
        if (!_open.Remove(producerId, out var range))
        {
            return false;
        }

        range.State = commit ? TxnRangeState.Committed : TxnRangeState.Aborted;
        return true;
    }

    /// <summary>The first offset of the earliest open transaction, or null when none is open.</summary>
    public long? FirstOpenOffset => _open.Count == 0 ? null : _open.Values.Min(r => r.FirstOffset);

    /// <summary>The last stable offset given the high watermark: a real broker's LSO never passes an open transaction.</summary>
    public long StableOffset(long highWatermark) => FirstOpenOffset is { } first && first < highWatermark ? first : highWatermark;

    /// <summary>A control batch of <paramref name="producerId"/> at <paramref name="offset"/> (a COMMIT marker if
    /// <paramref name="commit"/>, else ABORT): it closes that producer's last transaction that began before it, if that one
    /// has ended and its marker was not seen yet.</summary>
    /// <remarks>A producer's next transaction can only begin after the previous one's marker, so the marker belongs to the
    /// latest transaction that began before it. (A marker of a transaction that wrote nothing here would be taken for the
    /// previous one's only if that one's own marker was never seen; the producer has no data between the two, so the
    /// aborted ranges a consumer is given stay right.)</remarks>
    public void SeeMarker(long producerId, long offset, bool commit)
    {
        _markers[offset] = new TransactionMarker(offset, producerId, commit);
        TxnRange? latest = null;
        foreach (var range in _ranges)
        {
            if (range.ProducerId == producerId && range.FirstOffset < offset && (latest is null || range.FirstOffset > latest.FirstOffset))
            {
                latest = range;
            }
        }

        if (latest is { State: not TxnRangeState.Open, MarkerOffset: null } && latest.LastDataOffset < offset)
        {
            latest.MarkerOffset = offset;
        }
    }

    /// <summary>
    /// The aborted transactions a broker lists for an answer holding offsets <paramref name="from"/> to <paramref name="to"/>:
    /// those whose range (first offset to marker) overlaps it, by first offset.
    /// </summary>
    /// <remarks>A marker not seen yet lies after the transaction's data: if that data ends before <paramref name="from"/>,
    /// the marker is either before the answer (no overlap) or beyond it, and then the producer has no batch in the answer
    /// (its next transaction can only follow the marker), so leaving it out changes nothing for a consumer.</remarks>
    public List<(long ProducerId, long FirstOffset)> AbortedOverlapping(long from, long to)
    {
        var list = new List<(long, long)>();
        foreach (var range in _ranges)
        {
            if (range.State != TxnRangeState.Aborted || range.FirstOffset > to)
            {
                continue;
            }

            var end = range.MarkerOffset ?? range.LastDataOffset;
            if (end >= from)
            {
                list.Add((range.ProducerId, range.FirstOffset));
            }
        }

        list.Sort((a, b) => a.Item2.CompareTo(b.Item2));
        return list;
    }
}

/// <summary>What the front knows of one transactional id: its producer id and epoch, and its current transaction.</summary>
internal sealed class TransactionalIdState(string transactionalId)
{
    public string TransactionalId { get; } = transactionalId;

    public long ProducerId { get; set; } = -1;

    public short Epoch { get; set; } = -1;

    /// <summary>True from the first AddPartitionsToTxn/AddOffsetsToTxn/transactional batch until EndTxn is answered.</summary>
    public bool Ongoing { get; set; }

    /// <summary>The partitions of the current transaction (added, or written to).</summary>
    public HashSet<(string Topic, int Partition)> Partitions { get; } = [];

    /// <summary>Offsets of the current transaction's TxnOffsetCommit requests the coordinator accepted, per group.</summary>
    public Dictionary<string, PendingOffsets> Offsets { get; } = new(StringComparer.Ordinal);
}

/// <summary>A group's offsets waiting for their transaction to commit, with where and as whom to commit them.</summary>
internal sealed class PendingOffsets(int brokerId, int generationId, string memberId)
{
    public int BrokerId { get; set; } = brokerId;

    public int GenerationId { get; set; } = generationId;

    public string MemberId { get; set; } = memberId;

    public Dictionary<(string Topic, int Partition), TxnOffset> ByPartition { get; } = [];
}
