using Samsa.Network;

namespace Samsa.Cluster;

/// <summary>A partition as the last metadata response described it.</summary>
internal readonly record struct PartitionInfo(int Partition, int LeaderId, int LeaderEpoch, ErrorCode Error)
{
    public bool HasLeader => LeaderId >= 0;

    /// <summary>
    /// A partition the metadata did not describe. It has no leader; <c>default</c> would claim
    /// broker 0 leads it.
    /// </summary>
    public static PartitionInfo Unknown(int partition) => new(partition, -1, -1, ErrorCode.LeaderNotAvailable);
}

/// <summary>A topic as the last metadata response described it.</summary>
internal sealed class TopicInfo(string name, ErrorCode error, PartitionInfo[] partitions)
{
    public string Name { get; } = name;

    public ErrorCode Error { get; } = error;

    /// <summary>Indexed by partition number.</summary>
    public PartitionInfo[] Partitions { get; } = partitions;

    /// <summary>Partitions that have a leader now: the sticky partitioner prefers these.</summary>
    public int[] AvailablePartitions { get; } = partitions.Where(p => p.HasLeader).Select(p => p.Partition).ToArray();
}

/// <summary>
/// An immutable view of the cluster. The metadata manager swaps in a new one after each
/// refresh, so the produce path reads it without taking a lock.
/// </summary>
internal sealed class ClusterSnapshot(IReadOnlyDictionary<int, BrokerAddress> brokers, IReadOnlyDictionary<string, TopicInfo> topics, long refreshedAtTicks)
{
    public static ClusterSnapshot Empty { get; } = new(new Dictionary<int, BrokerAddress>(), new Dictionary<string, TopicInfo>(), 0);

    public IReadOnlyDictionary<int, BrokerAddress> Brokers { get; } = brokers;

    public IReadOnlyDictionary<string, TopicInfo> Topics { get; } = topics;

    public long RefreshedAtTicks { get; } = refreshedAtTicks;
}
