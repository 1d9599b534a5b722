namespace Samsa.Producer.Internal;

/// <summary>The delivery-timeout sweep: batches not in flight past delivery.timeout.ms fail, leaderless partitions refresh metadata.</summary>
internal sealed partial class ProducerEngine
{
    // How often unsent batches are checked against delivery.timeout.ms, and leaderless partitions
    // trigger a metadata refresh. The check runs only while some batch is unreported.
    private static readonly TimeSpan ExpiryCheckInterval = TimeSpan.FromMilliseconds(500);

    private void OnExpiryTimer()
    {
        if (IsClosed)
        {
            return;
        }

        var expiredBefore = MonotonicClock.NowMs - (long)Options.DeliveryTimeout.TotalMilliseconds;
        var pending = false;
        var leaderless = false;
        foreach (var topic in _topics.Values)
        {
            foreach (var partition in topic.Partitions)
            {
                foreach (var batch in partition.TakeExpired(expiredBefore) ?? [])
                {
                    Report(new Completion(batch, KafkaTimeoutException.DeliveryTimeout(
                        $"{partition}: the record was not sent within delivery.timeout.ms ({Options.DeliveryTimeout.TotalMilliseconds:0} ms)"
                        + (partition.Sender is null ? "; the partition has no leader the producer can reach." : "; its leader did not take it in time."),
                        partition.Topic,
                        partition.Partition), -1, -1));
                }

                if (partition.HasIncomplete)
                {
                    pending = true;
                    leaderless |= partition.Sender is null;
                }
            }
        }

        if (leaderless)
        {
            Metadata.RequestRefresh();
        }

        _expirySchedule.AfterSweep(pending, () => _topics.Values.Any(t => t.Partitions.Any(p => p.HasIncomplete)));
    }

    private void ScheduleExpiryCheck()
    {
        if (IsClosed)
        {
            return;
        }

        try
        {
            _expiryTimer.Change(ExpiryCheckInterval, Timeout.InfiniteTimeSpan);
        }
        catch (ObjectDisposedException)
        {
            // Disposed meanwhile: a timer callback must never throw, it would end the process.
        }
    }
}
