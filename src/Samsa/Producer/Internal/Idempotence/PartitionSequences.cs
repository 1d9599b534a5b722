namespace Samsa.Producer.Internal;

/// <summary>What to do with a batch after a failed attempt.</summary>
internal enum RetryVerdict
{
    /// <summary>Send it again (after the backoff), keeping its sequence.</summary>
    Retry,

    /// <summary>Send it again once the partition has moved to the next epoch (KIP-360), from sequence 0.</summary>
    RetryAfterEpochBump,

    /// <summary>Give up: report the error.</summary>
    Fail,
}

/// <summary>
/// The idempotent producer's state for one partition, after Java's <c>TxnPartitionEntry</c>: the
/// producer id and epoch its sequences count in, the next sequence to hand out, the last one the
/// broker acknowledged, and whether it must move to a new epoch. The rules that read it sit here
/// too. Everything is called under the partition's lock, with <c>sent</c>: the partition's batches
/// that have a sequence and are not yet reported, in sequence order (see <see cref="PartitionAccumulator"/>).
/// </summary>
/// <remarks>
/// A real broker keeps, per producer id and partition, the epoch and the last five batches. It
/// stores a batch whose base sequence follows the last one, answers DUPLICATE_SEQUENCE_NUMBER for
/// one of the last five, and OUT_OF_ORDER_SEQUENCE_NUMBER for anything else; a new epoch must start
/// at sequence 0. Everything here keeps the producer on the right side of those checks.
/// </remarks>
internal sealed class PartitionSequences
{
    public const int NoSequence = -1;

    /// <summary>The producer id and epoch of this partition's sequences; it lags the producer's after a bump.</summary>
    public ProducerIdAndEpoch Identity { get; private set; } = ProducerIdAndEpoch.None;

    public int NextSequence { get; private set; }

    public int LastAckedSequence { get; private set; } = NoSequence;

    /// <summary>The partition's sequence state is broken: it moves to the next epoch as soon as that is safe.</summary>
    public bool BumpRequested { get; private set; }

    /// <summary>
    /// The last sequence of a batch that failed while it may have been written; NoSequence when none.
    /// Until later answers tell whether it was stored, no new batch is sent (Java: unresolved sequences).
    /// </summary>
    public int UnresolvedLastSequence { get; private set; } = NoSequence;

    /// <summary>Sequences wrap from int.MaxValue to 0, as the broker expects.</summary>
    public static int Add(int sequence, int count) => (int)(((long)sequence + count) % ((long)int.MaxValue + 1));

    /// <summary>
    /// Moves the partition to the producer's current id and epoch when that is safe: when no batch is
    /// in flight or of unknown outcome, so that no batch can be stored once under the old epoch and
    /// again under the new one. Batches awaiting a retry are renumbered from 0 under the new epoch.
    /// A partition that did not ask for a bump moves only once it has nothing left under the old epoch,
    /// so a bump caused elsewhere never re-stamps its batches.
    /// </summary>
    public void CatchUp(ProducerIdAndEpoch current, Span<ProducerBatch> sent)
    {
        if (Identity == current)
        {
            return;
        }

        if (!BumpRequested && sent.Length > 0)
        {
            return;
        }

        foreach (var batch in sent)
        {
            if (batch.State == BatchState.InFlight || batch.MaybeWritten)
            {
                return;
            }
        }

        Identity = current;
        NextSequence = 0;
        LastAckedSequence = NoSequence;
        UnresolvedLastSequence = NoSequence;
        BumpRequested = false;
        foreach (var batch in sent)
        {
            Stamp(batch);
        }
    }

    /// <summary>
    /// Whether a batch that has never been sent may go now: the partition has the producer's current
    /// epoch and no sequence in doubt. A batch being retried goes before any new one.
    /// </summary>
    public bool MayStartNewBatch(ProducerIdAndEpoch current) =>
        Identity == current && !BumpRequested && UnresolvedLastSequence == NoSequence;

    /// <summary>
    /// Whether a batch awaiting a retry may go now. Only the first unacknowledged batch is retried:
    /// the broker would refuse a later one as out of order, so the rest wait until it is stored, as Java
    /// does (<c>firstInFlightSequence</c>). A partition waiting for its bump retries nothing: its
    /// batches go again, renumbered, once it has moved.
    /// </summary>
    public bool MayRetry(ProducerBatch batch, Span<ProducerBatch> sent) =>
        sent.Length > 0 && ReferenceEquals(sent[0], batch) && !BumpRequested;

    /// <summary>Gives a batch about to be sent for the first time its sequence numbers.</summary>
    public void Stamp(ProducerBatch batch)
    {
        batch.Identity = Identity;
        if (batch.State == BatchState.InFlight && batch.BaseSequence != NextSequence)
        {
            batch.SequenceReset = true;
        }

        batch.BaseSequence = NextSequence;
        NextSequence = Add(NextSequence, batch.Builder.RecordCount);
    }

    /// <summary>The broker stored the batch (or already had it).</summary>
    public void OnStored(ProducerBatch batch)
    {
        if (batch.BaseSequence < 0 || batch.Identity != Identity)
        {
            return;
        }

        if (LastAckedSequence == NoSequence || IsAfter(batch.LastSequence, LastAckedSequence))
        {
            LastAckedSequence = batch.LastSequence;
        }

        if (UnresolvedLastSequence != NoSequence && !IsAfter(UnresolvedLastSequence, LastAckedSequence))
        {
            // A later batch was stored, so the one in doubt was stored too.
            UnresolvedLastSequence = NoSequence;
        }
    }

    /// <summary>
    /// Decides a retriable failure or a sequence error of an idempotent batch (Java:
    /// <c>TransactionManager.canRetry</c>). Sets <see cref="BumpRequested"/> when the partition's
    /// sequence state on the broker is broken.
    /// </summary>
    public RetryVerdict OnSequenceError(ProducerBatch batch, ErrorCode error, Span<ProducerBatch> sent)
    {
        switch (error)
        {
            case ErrorCode.OutOfOrderSequenceNumber:
                if (batch.Identity != Identity || batch.SequenceReset)
                {
                    // An answer to a request sent before the partition renumbered this batch.
                    return RetryVerdict.Retry;
                }

                if (UnresolvedLastSequence != NoSequence)
                {
                    // Right after the batch in doubt: the broker has a gap, so that one was not stored.
                    return batch.BaseSequence == Add(UnresolvedLastSequence, 1) ? RequestBump(sent) : RetryVerdict.Retry;
                }

                // Only the batch right after the last acknowledged one tells of a real gap; a later one
                // is refused because an earlier batch is still being retried, and goes again after it.
                if (batch.BaseSequence != Add(LastAckedSequence, 1))
                {
                    return RetryVerdict.Retry;
                }

                return RequestBump(sent);

            case ErrorCode.UnknownProducerId:
            case ErrorCode.InvalidProducerEpoch:
                // The broker lost (or never had) this producer's state for the partition: a new epoch
                // starting at 0 is the only sequence it can accept.
                return batch.Identity == Identity ? RequestBump(sent) : RetryVerdict.Retry;

            default:
                throw new ArgumentOutOfRangeException(nameof(error), error, "Not a sequence error.");
        }
    }

    /// <summary>
    /// A batch with a sequence failed for good. If the broker surely did not store it, the batches
    /// after it take its place, as Java's <c>adjustSequencesDueToFailedBatch</c> does; the broker refuses
    /// them until then, so renumbering cannot duplicate anything. If it may have been stored, the
    /// sequence is left in doubt until later answers tell.
    /// </summary>
    /// <param name="batch">The failed batch, already removed from <paramref name="sentAfter"/>.</param>
    /// <param name="sentAfter">The partition's sent batches, without the failed one.</param>
    public void OnFailed(ProducerBatch batch, Span<ProducerBatch> sentAfter)
    {
        if (batch.Identity != Identity || batch.BaseSequence < 0)
        {
            return;
        }

        if (batch.MaybeWritten)
        {
            UnresolvedLastSequence = UnresolvedLastSequence == NoSequence || IsAfter(batch.LastSequence, UnresolvedLastSequence)
                ? batch.LastSequence
                : UnresolvedLastSequence;
            return;
        }

        var count = batch.Builder.RecordCount;
        foreach (var later in sentAfter)
        {
            if (later.Identity == Identity && IsAfter(later.BaseSequence, batch.BaseSequence))
            {
                if (later.State == BatchState.InFlight)
                {
                    later.SequenceReset = true;
                }

                later.BaseSequence = Subtract(later.BaseSequence, count);
            }
        }

        NextSequence = Subtract(NextSequence, count);
    }

    /// <summary>
    /// Called when the partition has nothing sent left: a sequence still in doubt can no longer be
    /// settled by an answer, so the partition moves to a new epoch rather than guess (Java:
    /// <c>maybeResolveSequences</c>).
    /// </summary>
    public bool ResolveWhenIdle()
    {
        if (UnresolvedLastSequence == NoSequence || BumpRequested)
        {
            return false;
        }

        BumpRequested = true;
        return true;
    }

    /// <summary>
    /// Marks the partition as needing the next epoch (the producer identity does the bump). The broker
    /// has stored nothing of this epoch from the refused batch on, so none of the partition's sent
    /// batches is in doubt any more: they will all go again under the new epoch.
    /// </summary>
    private RetryVerdict RequestBump(Span<ProducerBatch> sent)
    {
        BumpRequested = true;
        foreach (var batch in sent)
        {
            batch.MaybeWritten = false;
        }

        return RetryVerdict.RetryAfterEpochBump;
    }

    private static int Subtract(int sequence, int count) => Add(sequence, int.MaxValue - count + 1);

    // Sequence a comes after b, allowing for the wrap at int.MaxValue.
    private static bool IsAfter(int a, int b)
    {
        var distance = ((long)a - b + int.MaxValue + 1) % ((long)int.MaxValue + 1);
        return distance != 0 && distance < int.MaxValue / 2;
    }
}
