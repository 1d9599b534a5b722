using Samsa.Network;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Cluster;

/// <summary>
/// Keeps the cluster view (brokers, topics, partition leaders) for the topics this producer
/// writes to. Refreshes are coalesced: however many callers ask at once, one Metadata request
/// goes out, and they all wait for its answer.
/// </summary>
internal sealed class MetadataManager(
    IReadOnlyList<BrokerAddress> bootstrapServers,
    BrokerConnections connections,
    TimeSpan maxAge)
{
    private readonly object _lock = new();
    private readonly HashSet<string> _topics = [];
    private ClusterSnapshot _snapshot = ClusterSnapshot.Empty;
    private Task? _refreshing;
    private bool _refreshAgain;
    private TaskCompletionSource _nextRefresh = NewRefreshSignal();

    /// <summary>Raised after every refresh, on the refreshing thread.</summary>
    public event Action<ClusterSnapshot>? Updated;

    public ClusterSnapshot Snapshot => Volatile.Read(ref _snapshot);

    /// <summary>
    /// The topic's metadata, fetching it if unknown, until it has partitions or the deadline
    /// passes. An unknown topic is retried (the broker may be creating it); an authorization or
    /// invalid-name error fails at once.
    /// </summary>
    public async Task<TopicInfo> GetTopicAsync(string topic, TimeSpan maxBlock, CancellationToken cancellationToken)
    {
        var deadline = Environment.TickCount64 + (long)maxBlock.TotalMilliseconds;
        KafkaException? lastError = null;
        while (true)
        {
            if (Snapshot.Topics.TryGetValue(topic, out var known) && known.Error == ErrorCode.None && known.Partitions.Length > 0)
            {
                return known;
            }

            if (known is not null && known.Error is ErrorCode.TopicAuthorizationFailed or ErrorCode.InvalidTopicException)
            {
                throw new KafkaBrokerException(known.Error, null, topic, -1);
            }

            var remaining = deadline - Environment.TickCount64;
            if (remaining <= 0)
            {
                var why = known is not null && known.Error != ErrorCode.None
                    ? $"the broker answered {ErrorCodes.Name(known.Error)}"
                    : lastError?.Message ?? "no metadata arrived";
                throw new KafkaTimeoutException(
                    $"Topic '{topic}' was not found in the cluster's metadata within max.block.ms ({maxBlock.TotalMilliseconds:0} ms): {why}.",
                    lastError) { Topic = topic };
            }

            var signal = RefreshAsync(topic);
            try
            {
                await signal.WaitAsync(TimeSpan.FromMilliseconds(remaining), cancellationToken).ConfigureAwait(false);
            }
            catch (KafkaException e)
            {
                lastError = e;
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(100, Math.Max(1, deadline - Environment.TickCount64))), cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // Loop round: the deadline check above reports it.
            }
        }
    }

    /// <summary>Asks for a refresh without waiting for it, e.g. after a broker said it is not the leader.</summary>
    public void RequestRefresh() => _ = RefreshAsync(null);

    /// <summary>Asks for a refresh (adding a topic of interest) and returns a task for its end.</summary>
    public Task RefreshAsync(string? topic)
    {
        lock (_lock)
        {
            if (topic is not null)
            {
                _topics.Add(topic);
            }

            if (_refreshing is null)
            {
                _refreshing = Task.Run(RefreshLoopAsync);
            }
            else
            {
                // A refresh already in flight may have asked before this topic was added.
                _refreshAgain = true;
            }

            return _nextRefresh.Task;
        }
    }

    /// <summary>True when the snapshot is older than <c>metadata.max.age.ms</c>.</summary>
    /// <remarks>False while a refresh is under way, so the produce path does not keep asking for one.</remarks>
    public bool IsStale =>
        Environment.TickCount64 - Snapshot.RefreshedAtTicks > (long)maxAge.TotalMilliseconds && Volatile.Read(ref _refreshing) is null;

    private async Task RefreshLoopAsync()
    {
        while (true)
        {
            TaskCompletionSource signal;
            string[] topics;
            lock (_lock)
            {
                signal = _nextRefresh;
                _nextRefresh = NewRefreshSignal();
                _refreshAgain = false;
                topics = [.. _topics];
            }

            try
            {
                var snapshot = await FetchAsync(topics).ConfigureAwait(false);
                Volatile.Write(ref _snapshot, snapshot);
                Updated?.Invoke(snapshot);
                signal.TrySetResult();
            }
            catch (Exception e)
            {
                signal.TrySetException(e as KafkaException ?? new KafkaNetworkException($"Metadata refresh failed: {e.Message}", e));
            }

            lock (_lock)
            {
                if (!_refreshAgain)
                {
                    _refreshing = null;
                    return;
                }
            }
        }
    }

    private async Task<ClusterSnapshot> FetchAsync(string[] topics)
    {
        var connection = await AnyConnectionAsync().ConfigureAwait(false);
        var version = connection.Versions.Pick(ApiKey.Metadata, 1, MetadataRequest.HighestSupportedVersion);
        if (version < 0)
        {
            throw new KafkaNetworkException($"Broker {connection.Address} supports Metadata {connection.Versions.Describe(ApiKey.Metadata)}; Samsa needs v1 or later.");
        }

        var request = new MetadataRequest
        {
            // The Java producer lets brokers auto-create topics it writes to, where they allow it.
            AllowAutoTopicCreation = true,
            Topics = topics.Select(t => new MetadataRequest.MetadataRequestTopic { Name = t }).ToList(),
        };
        var response = await connection.SendAsync(request, version).ConfigureAwait(false);

        var brokers = response.Brokers.ToDictionary(b => b.NodeId, b => new BrokerAddress(b.NodeId, b.Host, b.Port));
        var topicInfos = new Dictionary<string, TopicInfo>();
        foreach (var topic in response.Topics)
        {
            if (topic.Name is null)
            {
                continue;
            }

            var partitions = new PartitionInfo[topic.Partitions.Count];
            foreach (var p in topic.Partitions)
            {
                if (p.PartitionIndex >= 0 && p.PartitionIndex < partitions.Length)
                {
                    partitions[p.PartitionIndex] = new PartitionInfo(p.PartitionIndex, p.LeaderId, p.LeaderEpoch, (ErrorCode)p.ErrorCode);
                }
            }

            topicInfos[topic.Name] = new TopicInfo(topic.Name, (ErrorCode)topic.ErrorCode, partitions);
        }

        return new ClusterSnapshot(brokers, topicInfos, Environment.TickCount64);
    }

    /// <summary>A connection to any broker that answers: an existing one, else known brokers, else bootstrap servers.</summary>
    public async Task<BrokerConnection> AnyConnectionAsync()
    {
        if (connections.AnyLive() is { } live)
        {
            return live;
        }

        // Known brokers first, then the bootstrap list, each in turn until one answers.
        var candidates = Snapshot.Brokers.Values.Concat(bootstrapServers).ToList();
        var failures = new List<string>();
        foreach (var address in candidates)
        {
            try
            {
                return await connections.GetAsync(address, CancellationToken.None).ConfigureAwait(false);
            }
            catch (KafkaException e)
            {
                failures.Add(e.Message);
            }
        }

        throw new KafkaNetworkException(
            $"Could not reach any broker. Tried {string.Join(", ", candidates.Select(c => $"{c.Host}:{c.Port}"))}: {string.Join(" ", failures)}");
    }

    private static TaskCompletionSource NewRefreshSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
