using Samsa.Diagnostics;
using Samsa.Network;

namespace Samsa.Producer.Internal;

/// <summary>What each answer to a Produce request means for its batches: stored, retried, split or failed.</summary>
internal sealed partial class ProducerEngine
{
    /// <summary>The broker stored the batch (<paramref name="baseOffset"/> -1 where it did not say where): report its records.</summary>
    public void OnStored(ProducerBatch batch, long baseOffset, long logAppendTimeMs)
    {
        var partition = batch.Partition;
        partition.OnStored(batch);
        Report(new Completion(batch, null, baseOffset, logAppendTimeMs));

        // The partition may send its next batch, possibly through another sender since a leader move.
        partition.Sender?.Wake();
    }

    /// <summary>The broker refused the batch for its partition with <paramref name="code"/>.</summary>
    public void OnBrokerError(ProducerBatch batch, ErrorCode code, string? brokerMessage)
    {
        var partition = batch.Partition;
        if (code == ErrorCode.DuplicateSequenceNumber && batch.BaseSequence >= 0)
        {
            // The broker has this batch already, but no longer knows its offset: it was stored, as
            // Java reports it. Failing it would lead a caller who retries on failure to write it twice.
            OnStored(batch, baseOffset: -1, logAppendTimeMs: -1);
            return;
        }

        if (code is ErrorCode.MessageTooLarge or ErrorCode.RecordListTooLarge && batch.Builder.RecordCount > 1 && FatalError is null && !IsClosed)
        {
            DeliveryLog.BatchSplit(_logger, partition.Topic, partition.Partition, batch.Builder.RecordCount, code);
            partition.SplitTooLarge(batch, MonotonicClock.NowMs);
            partition.Sender?.Wake();
            return;
        }

        if (Transactions is not null && code is ErrorCode.ProducerFenced or ErrorCode.InvalidProducerEpoch or ErrorCode.TransactionalIdAuthorizationFailed)
        {
            // A transactional producer cannot bump its own epoch: a newer one with the same id took over, or it may not use the id.
            KafkaException fatal = code == ErrorCode.TransactionalIdAuthorizationFailed
                ? new KafkaAuthorizationException($"The broker refused a batch for {partition} with {ErrorCodes.Name(code)}: the principal may not use transactional.id '{Options.TransactionalId}'. The producer cannot go on.", code, isFatal: true)
                : new ProducerFencedException($"The broker refused a batch for {partition} with {ErrorCodes.Name(code)}: another producer with transactional.id '{Options.TransactionalId}' has started, which fences this one. Dispose it.", code);
            EnterFatalState(fatal);
            OnAttemptFailed(batch, fatal, maybeWritten: false);
            return;
        }

        // The leader wrote the batch but could not replicate it in time: a retry may find it stored.
        var maybeWritten = code is ErrorCode.NotEnoughReplicasAfterAppend or ErrorCode.RequestTimedOut;
        OnAttemptFailed(batch, new KafkaBrokerException(code, brokerMessage, partition.Topic, partition.Partition), maybeWritten);
    }

    /// <summary>
    /// An attempt to send the batch failed. It goes again after a backoff while the error allows it and
    /// <c>retries</c> and <c>delivery.timeout.ms</c> have room; the partition's sequence rules decide
    /// the idempotent cases (see <see cref="PartitionSequences"/>). Otherwise its records fail.
    /// </summary>
    /// <param name="batch">The batch whose attempt failed.</param>
    /// <param name="error">Why it failed.</param>
    /// <param name="maybeWritten">The attempt ended without a definite answer: the broker may have stored it.</param>
    public void OnAttemptFailed(ProducerBatch batch, KafkaException error, bool maybeWritten)
    {
        var partition = batch.Partition;
        var now = MonotonicClock.NowMs;
        var expired = now - batch.CreatedTicks >= (long)Options.DeliveryTimeout.TotalMilliseconds;
        var mayRetry = FatalError is null && !IsClosed && !expired && batch.Attempts <= Options.Retries;
        var verdict = partition.OnAttemptFailed(batch, error, maybeWritten, mayRetry, now + (long)RetryBackoff(batch.Attempts).TotalMilliseconds);
        if (verdict == RetryVerdict.Fail)
        {
            var retriable = error.IsRetriable || PartitionAccumulator.IsSequenceError(error);
            KafkaException final = FatalError ?? (expired && retriable
                ? KafkaTimeoutException.DeliveryTimeout($"{partition}: delivery.timeout.ms ({Options.DeliveryTimeout.TotalMilliseconds:0} ms) passed after {batch.Attempts} attempt(s); last error: {error.Message}", partition.Topic, partition.Partition, error)
                : error);
            Report(new Completion(batch, final, -1, -1));
        }
        else
        {
            if (error is KafkaNetworkException or KafkaTimeoutException
                || error.ErrorCode is ErrorCode.NotLeaderOrFollower or ErrorCode.LeaderNotAvailable or ErrorCode.UnknownTopicOrPartition
                    or ErrorCode.FencedLeaderEpoch or ErrorCode.UnknownLeaderEpoch or ErrorCode.KafkaStorageError)
            {
                Metadata.RequestRefresh();
            }

            Telemetry.OnRetry(batch, error);
            if (verdict == RetryVerdict.RetryAfterEpochBump)
            {
                IdempotenceLog.PartitionSequenceReset(_logger, partition.Topic, partition.Partition, batch.Identity.ProducerId, batch.Identity.Epoch, error.Message);
            }
            else
            {
                RetryLog.BatchRetry(_logger, partition.Topic, partition.Partition, batch.Attempts, error.Message);
            }
        }

        partition.Sender?.Wake();
    }

    /// <summary>A broker asked the producer to slow down (KIP-219); its sender holds back meanwhile.</summary>
    public void OnThrottled(BrokerAddress broker, int throttleTimeMs) => RetryLog.Throttled(_logger, broker, throttleTimeMs);

    // KIP-580: exponential backoff with ±20% jitter, so that many clients do not retry in step.
    internal TimeSpan RetryBackoff(int attempts)
    {
        var baseMs = Options.RetryBackoff.TotalMilliseconds * Math.Pow(2, Math.Max(0, attempts - 1));
        var capped = Math.Min(baseMs, Math.Max(Options.RetryBackoff.TotalMilliseconds, Options.RetryBackoffMax.TotalMilliseconds));
        return TimeSpan.FromMilliseconds(capped * (0.8 + (Random.Shared.NextDouble() * 0.4)));
    }
}
