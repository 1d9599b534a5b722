namespace Samsa.Tests.Partitioning;

/// <summary>Partition queues and adaptive settings given by a test instead of accumulators.</summary>
internal readonly struct FakeLoad(bool adaptive, int[]? queued = null, long[]? waitingSinceMs = null, long availabilityTimeoutMs = 0, long nowMs = 0) : IPartitionLoad
{
    public bool Adaptive => adaptive;

    public long AvailabilityTimeoutMs => availabilityTimeoutMs;

    public long NowMs => nowMs;

    public int QueuedBatches(int partition) => queued is null ? 0 : queued[partition];

    public long ReadyWaitingSinceMs(int partition) => waitingSinceMs is null ? 0 : waitingSinceMs[partition];
}
