using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Samsa.Diagnostics;
using Samsa.Network;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Cluster;

/// <summary>
/// Keeps the cluster view (brokers, topics, partition leaders) for the topics this producer
/// writes to. Refreshes are coalesced: however many callers ask at once, one Metadata request
/// goes out, and they all wait for its answer.
/// </summary>
internal sealed class MetadataManager : IDisposable
{
    // KAFKA-9212: before Metadata v9 (Kafka 2.4) a broker could report a wrong leader epoch while a
    // reassignment was under way, so Java trusts the epochs of v9+ answers only.
    private const short FirstReliableLeaderEpochVersion = 9;

    private readonly IReadOnlyList<BrokerAddress> _bootstrapServers;
    private readonly BrokerConnections _connections;
    private readonly TimeSpan _maxAge;
    private readonly long _maxIdleMs;
    private readonly ClientDnsLookup _dnsLookup;
    private readonly HostResolver _resolver;
    private readonly Func<long> _nowMs;
    private readonly object _lock = new();
    private readonly ILogger _logger;

    // Event 1401: the first failure of a run at once, then once per 30 s while refreshes keep failing.
    private readonly LogLimiter _failureLog = new(TimeSpan.FromSeconds(30));
    private int _failuresInARow;

    // Topic -> when it was last used (see Touch). Read on the produce path without the lock.
    private readonly ConcurrentDictionary<string, StrongBox<long>> _topics = new(StringComparer.Ordinal);

    // KIP-320: the highest leader epoch seen per partition; guarded by _lock.
    private readonly Dictionary<(string Topic, int Partition), int> _leaderEpochs = [];
    private ClusterSnapshot _snapshot = ClusterSnapshot.Empty;
    private IReadOnlyList<BrokerAddress>? _canonicalBootstrap;
    private Task? _refreshing;
    private bool _refreshAgain;

    // Why the latest refresh failed (null once one succeeds): a caller whose own wait saw no refresh end,
    // because one was still trying when its max.block.ms ran out, can still say why metadata is missing.
    private KafkaException? _lastRefreshFailure;
    private bool _disposed;
    private TaskCompletionSource _nextRefresh = NewRefreshSignal();

    /// <param name="bootstrapServers">bootstrap.servers, with negative node ids.</param>
    /// <param name="connections">The producer's connections.</param>
    /// <param name="maxAge"><c>metadata.max.age.ms</c>.</param>
    /// <param name="maxIdle"><c>metadata.max.idle.ms</c>.</param>
    /// <param name="dnsLookup"><c>client.dns.lookup</c>.</param>
    /// <param name="resolver">Name lookups; <see cref="HostResolver.System"/> outside tests.</param>
    /// <param name="nowMs">A monotonic clock in ms, for tests; <see cref="Environment.TickCount64"/> by default.</param>
    /// <param name="logger">Refresh failures and recoveries (category <c>Samsa.Metadata</c>).</param>
    public MetadataManager(
        IReadOnlyList<BrokerAddress> bootstrapServers,
        BrokerConnections connections,
        TimeSpan maxAge,
        TimeSpan maxIdle,
        ClientDnsLookup dnsLookup,
        HostResolver resolver,
        Func<long>? nowMs = null,
        ILogger? logger = null)
    {
        _logger = logger ?? NullLogger.Instance;
        _bootstrapServers = bootstrapServers;
        _connections = connections;
        _maxAge = maxAge;
        _maxIdleMs = (long)maxIdle.TotalMilliseconds;
        _dnsLookup = dnsLookup;
        _resolver = resolver;
        _nowMs = nowMs ?? (static () => Environment.TickCount64);
    }

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
            ThrowIfDisposed();
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
                lastError ??= Volatile.Read(ref _lastRefreshFailure);
                var why = known is not null && known.Error != ErrorCode.None
                    ? $"the broker answered {ErrorCodes.Name(known.Error)}"
                    : lastError?.Message.TrimEnd('.') ?? "no metadata arrived";
                throw new KafkaTimeoutException(
                    $"Topic '{topic}' was not found in the cluster's metadata within max.block.ms ({maxBlock.TotalMilliseconds:0} ms): {why}.",
                    lastError) { Topic = topic };
            }

            var signal = RefreshAsync(topic);
            try
            {
                await signal.WaitAsync(TimeSpan.FromMilliseconds(remaining), cancellationToken).ConfigureAwait(false);
            }
            catch (KafkaException e) when (e is not ProducerClosedException && !e.IsFatal)
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

    /// <summary>
    /// Records that the producer is writing to <paramref name="topic"/>; call it for every record.
    /// A topic not touched for <c>metadata.max.idle.ms</c> is left out of later Metadata requests,
    /// as Java's <c>ProducerMetadata</c> does; touching it again asks for its metadata again.
    /// </summary>
    public void Touch(string topic)
    {
        if (_topics.TryGetValue(topic, out var lastUsed))
        {
            Volatile.Write(ref lastUsed.Value, _nowMs());
            return;
        }

        RequestRefresh(topic);
    }

    /// <summary>Asks for a refresh without waiting for it, e.g. after a broker said it is not the leader.</summary>
    public void RequestRefresh() => _ = RefreshAsync(null);

    private void RequestRefresh(string topic) => _ = RefreshAsync(topic);

    /// <summary>Asks for a refresh (adding a topic of interest) and returns a task for its end.</summary>
    public Task RefreshAsync(string? topic)
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return _nextRefresh.Task;
            }

            if (topic is not null)
            {
                _topics.GetOrAdd(topic, static _ => new StrongBox<long>()).Value = _nowMs();
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
        Environment.TickCount64 - Snapshot.RefreshedAtTicks > (long)_maxAge.TotalMilliseconds && Volatile.Read(ref _refreshing) is null;

    /// <summary>
    /// Takes a leader a Produce answer named (KIP-951) if its epoch is newer than any seen for the
    /// partition: records the epoch, so that an older metadata answer cannot move the partition
    /// back (KIP-320), and puts the leader in the snapshot. Returns false for a hint that is not
    /// newer, which the caller should then ignore.
    /// </summary>
    public bool TryApplyLeaderHint(string topic, int partition, int leaderEpoch, BrokerAddress leader)
    {
        if (leaderEpoch < 0 || leader.NodeId < 0)
        {
            return false;
        }

        lock (_lock)
        {
            var key = (topic, partition);
            if (_disposed || (_leaderEpochs.TryGetValue(key, out var known) && leaderEpoch <= known))
            {
                return false;
            }

            _leaderEpochs[key] = leaderEpoch;
            var snapshot = Snapshot;
            var brokers = snapshot.Brokers;
            if (!brokers.ContainsKey(leader.NodeId))
            {
                brokers = new Dictionary<int, BrokerAddress>(brokers) { [leader.NodeId] = leader };
            }

            var topics = snapshot.Topics;
            if (topics.TryGetValue(topic, out var info) && partition < info.Partitions.Length)
            {
                var partitions = (PartitionInfo[])info.Partitions.Clone();
                partitions[partition] = new PartitionInfo(partition, leader.NodeId, leaderEpoch, ErrorCode.None);
                topics = new Dictionary<string, TopicInfo>(topics) { [topic] = new TopicInfo(topic, info.Error, partitions) };
            }

            Volatile.Write(ref _snapshot, new ClusterSnapshot(brokers, topics, snapshot.RefreshedAtTicks));
            return true;
        }
    }

    /// <summary>Stops refreshing: the waits of <see cref="GetTopicAsync"/> and <see cref="RefreshAsync"/> end with <see cref="ProducerClosedException"/>.</summary>
    public void Dispose()
    {
        TaskCompletionSource signal;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            signal = _nextRefresh;
        }

        signal.TrySetException(new ProducerClosedException("The producer was disposed; its metadata is no longer refreshed."));
    }

    /// <summary>
    /// The topics the next Metadata request asks for. Topics unused for <c>metadata.max.idle.ms</c>
    /// are forgotten here, with their leader epochs.
    /// </summary>
    internal string[] TopicsToRequest()
    {
        var idleBefore = _nowMs() - _maxIdleMs;
        var topics = new List<string>(_topics.Count);
        lock (_lock)
        {
            foreach (var (topic, lastUsed) in _topics)
            {
                if (Volatile.Read(ref lastUsed.Value) >= idleBefore)
                {
                    topics.Add(topic);
                    continue;
                }

                _topics.TryRemove(topic, out _);
                foreach (var key in _leaderEpochs.Keys.Where(k => k.Topic == topic).ToList())
                {
                    _leaderEpochs.Remove(key);
                }
            }
        }

        return [.. topics];
    }

    /// <summary>
    /// Builds the cluster view from a Metadata answer and makes it current. A partition missing
    /// from the answer has no leader. A partition whose leader epoch is older than one already
    /// seen keeps the leader we know (KIP-320; Java's <c>Metadata.updateLatestMetadata</c>): the
    /// answer came from a broker that has not heard of the newer leader yet.
    /// </summary>
    internal ClusterSnapshot Apply(MetadataResponse response, short version)
    {
        lock (_lock)
        {
            var previous = Snapshot;
            var reliableEpochs = version >= FirstReliableLeaderEpochVersion;
            var brokers = response.Brokers.ToDictionary(b => b.NodeId, b => new BrokerAddress(b.NodeId, b.Host, b.Port));
            var topicInfos = new Dictionary<string, TopicInfo>();
            foreach (var topic in response.Topics)
            {
                if (topic.Name is null)
                {
                    continue;
                }

                var count = topic.Partitions.Count == 0 ? 0 : topic.Partitions.Max(p => p.PartitionIndex) + 1;
                var partitions = new PartitionInfo[Math.Max(0, count)];
                for (var i = 0; i < partitions.Length; i++)
                {
                    partitions[i] = PartitionInfo.Unknown(i);
                }

                previous.Topics.TryGetValue(topic.Name, out var previousTopic);
                foreach (var p in topic.Partitions)
                {
                    if (p.PartitionIndex < 0)
                    {
                        continue;
                    }

                    var answered = new PartitionInfo(p.PartitionIndex, p.LeaderId, p.LeaderEpoch, (ErrorCode)p.ErrorCode);
                    partitions[p.PartitionIndex] = Latest(topic.Name, answered, reliableEpochs, previousTopic);
                }

                topicInfos[topic.Name] = new TopicInfo(topic.Name, (ErrorCode)topic.ErrorCode, partitions);
            }

            // A leader kept from before may be missing from this answer's broker list.
            foreach (var info in topicInfos.Values)
            {
                foreach (var partition in info.Partitions)
                {
                    if (partition.HasLeader && !brokers.ContainsKey(partition.LeaderId) && previous.Brokers.TryGetValue(partition.LeaderId, out var kept))
                    {
                        brokers[partition.LeaderId] = kept;
                    }
                }
            }

            var snapshot = new ClusterSnapshot(brokers, topicInfos, Environment.TickCount64);
            Volatile.Write(ref _snapshot, snapshot);
            return snapshot;
        }
    }

    private PartitionInfo Latest(string topic, PartitionInfo answered, bool reliableEpochs, TopicInfo? previousTopic)
    {
        var key = (topic, answered.Partition);
        if (!reliableEpochs || answered.LeaderEpoch < 0)
        {
            // An older broker, or an error answer without leader and epoch: nothing to compare.
            _leaderEpochs.Remove(key);
            return answered with { LeaderEpoch = -1 };
        }

        if (!_leaderEpochs.TryGetValue(key, out var known) || answered.LeaderEpoch >= known)
        {
            _leaderEpochs[key] = answered.LeaderEpoch;
            return answered;
        }

        return previousTopic is not null && answered.Partition < previousTopic.Partitions.Length
            ? previousTopic.Partitions[answered.Partition]
            : PartitionInfo.Unknown(answered.Partition);
    }

    private async Task RefreshLoopAsync()
    {
        while (true)
        {
            TaskCompletionSource signal;
            lock (_lock)
            {
                if (_disposed)
                {
                    _refreshing = null;
                    return;
                }

                signal = _nextRefresh;
                _nextRefresh = NewRefreshSignal();
                _refreshAgain = false;
            }

            try
            {
                var (response, version) = await FetchAsync(TopicsToRequest()).ConfigureAwait(false);
                ClusterSnapshot? snapshot = null;
                lock (_lock)
                {
                    if (!_disposed)
                    {
                        snapshot = Apply(response, version);
                    }
                }

                if (snapshot is null)
                {
                    signal.TrySetException(new ProducerClosedException("The producer was disposed; its metadata is no longer refreshed."));
                }
                else
                {
                    Volatile.Write(ref _lastRefreshFailure, null);
                    if (_failuresInARow > 0)
                    {
                        MetadataLog.Recovered(_logger, _failuresInARow);
                        _failuresInARow = 0;
                        _failureLog.Reset();
                    }

                    Updated?.Invoke(snapshot);
                    signal.TrySetResult();
                }
            }
            catch (Exception e)
            {
                var failure = e as KafkaException ?? new KafkaNetworkException($"Metadata refresh failed: {e.Message}", e);
                Volatile.Write(ref _lastRefreshFailure, failure);

                // Only one refresh loop runs at a time, so the count needs no lock.
                _failuresInARow++;
                if (!failure.IsFatal && !Volatile.Read(ref _disposed) && _failureLog.TryEnter(out _))
                {
                    MetadataLog.RefreshFailed(_logger, _failuresInARow, failure.Message);
                }

                signal.TrySetException(failure);
            }

            lock (_lock)
            {
                if (!_refreshAgain || _disposed)
                {
                    _refreshing = null;
                    return;
                }
            }
        }
    }

    private async Task<(MetadataResponse Response, short Version)> FetchAsync(string[] topics)
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
        return (await connection.SendAsync(request, version).ConfigureAwait(false), version);
    }

    /// <summary>A connection to any broker that answers: an existing one, else known brokers, else bootstrap servers.</summary>
    public async Task<BrokerConnection> AnyConnectionAsync()
    {
        if (_connections.AnyLive() is { } live)
        {
            return live;
        }

        // Known brokers first, then the bootstrap list, each in turn until one answers.
        var candidates = Snapshot.Brokers.Values.Concat(await BootstrapServersAsync().ConfigureAwait(false)).ToList();
        var failures = new List<string>();
        foreach (var address in candidates)
        {
            try
            {
                return await _connections.GetAsync(address, CancellationToken.None).ConfigureAwait(false);
            }
            catch (KafkaException e) when (!e.IsFatal)
            {
                failures.Add(e.Message);
            }
        }

        throw new KafkaNetworkException(
            $"Could not reach any broker. Tried {string.Join(", ", candidates.Select(c => $"{c.Host}:{c.Port}"))}: {string.Join(" ", failures)}");
    }

    /// <summary>
    /// bootstrap.servers as given, or with <c>resolve_canonical_bootstrap_servers_only</c> each name
    /// replaced by the canonical names of all its addresses, as Java's
    /// <c>ClientUtils.parseAndValidateAddresses</c> does (useful behind a load balancer or with
    /// Kerberos, where the broker's own name matters). Names that do not resolve are kept as given,
    /// so the error names them; a failed expansion is tried again next time.
    /// </summary>
    internal async Task<IReadOnlyList<BrokerAddress>> BootstrapServersAsync()
    {
        if (_dnsLookup != ClientDnsLookup.ResolveCanonicalBootstrapServersOnly)
        {
            return _bootstrapServers;
        }

        if (Volatile.Read(ref _canonicalBootstrap) is { } known)
        {
            return known;
        }

        var expanded = new List<BrokerAddress>();
        var allResolved = true;
        foreach (var server in _bootstrapServers)
        {
            string[] names;
            try
            {
                var addresses = await _resolver.ResolveAsync(server.Host, CancellationToken.None).ConfigureAwait(false);
                names = await Task.WhenAll(addresses.Select(a => _resolver.CanonicalNameAsync(a, CancellationToken.None))).ConfigureAwait(false);
            }
            catch (System.Net.Sockets.SocketException)
            {
                allResolved = false;
                names = [server.Host];
            }

            foreach (var name in names.Distinct(StringComparer.OrdinalIgnoreCase))
            {
                if (!expanded.Any(e => e.Port == server.Port && string.Equals(e.Host, name, StringComparison.OrdinalIgnoreCase)))
                {
                    // Bootstrap entries have negative ids (as in Java) that never collide with brokers'.
                    expanded.Add(new BrokerAddress(-1 - expanded.Count, name, server.Port));
                }
            }
        }

        if (allResolved)
        {
            Volatile.Write(ref _canonicalBootstrap, expanded);
        }

        return expanded;
    }

    private void ThrowIfDisposed()
    {
        if (Volatile.Read(ref _disposed))
        {
            throw new ProducerClosedException("The producer was disposed; its metadata is no longer refreshed.");
        }
    }

    private static TaskCompletionSource NewRefreshSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
