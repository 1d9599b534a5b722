namespace Samsa.Diagnostics;

/// <summary>
/// The record totals a KIP-714 push reports (<c>record.send.total</c>, <c>record.error.total</c>,
/// <c>record.retry.total</c>), counted from the producer's start while <c>enable.metrics.push</c> is on: a total is
/// since the client started, so it cannot wait for a subscription, which comes after the first metadata answer and
/// may well come after the first acknowledgements. One interlocked add per batch.
/// </summary>
internal sealed class RecordTotals
{
    private long _sent;
    private long _failed;
    private long _retried;

    /// <summary>When counting started, in Unix nanoseconds: the start time of the cumulative sums.</summary>
    public long StartUnixNanos { get; } = PushMetrics.UnixNanosNow();

    public long Sent => Interlocked.Read(ref _sent);

    public long Failed => Interlocked.Read(ref _failed);

    public long Retried => Interlocked.Read(ref _retried);

    public void RecordsSent(int count) => Interlocked.Add(ref _sent, count);

    public void RecordsFailed(int count) => Interlocked.Add(ref _failed, count);

    public void RecordsRetried(int count) => Interlocked.Add(ref _retried, count);
}
