using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Samsa.Cluster;
using Samsa.Network;

namespace Samsa.Producer.Internal;

/// <summary>
/// Everything of a producer that does not depend on its key and value types: topics and their
/// partition accumulators, one sender per broker, metadata, and the loop that reports outcomes.
/// Reports go through one loop, in the order the broker answered, so a partition's records
/// are always reported in the order they were sent.
/// </summary>
internal sealed partial class ProducerEngine : IAsyncDisposable
{
    private static int _producerCount;

    private readonly ConcurrentDictionary<string, TopicState> _topics = new();
    private readonly Dictionary<int, BrokerSender> _senders = [];
    private readonly Channel<Completion> _completions = Channel.CreateUnbounded<Completion>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _completionLoop;
    private readonly ILogger _logger;
    // Reported batches, kept for reuse: their record buffers and delivery lists are already grown.
    // As many as buffer.memory can keep in use at once, so a busy producer stops allocating them.
    private readonly Stack<ProducerBatch> _batchPool = new();
    private readonly int _maxPooledBatches;
    private readonly Timer _expiryTimer;
    private int _expiryArmed;
    private int _closed;
    private ProducerFatalException? _fatalError;

    public ProducerEngine(ProducerOptions options, ILogger logger)
    {
        Options = options;
        _logger = logger;
        ClientId = options.ClientId.Length > 0 ? options.ClientId : $"samsa-producer-{Interlocked.Increment(ref _producerCount)}";
        CompressionLevel = options.CompressionLevel ?? Compression.Compressor.DefaultLevel;
        var settings = new ConnectionSettings(ClientId, options.SocketConnectionSetupTimeout, options.RequestTimeout, options.SendBufferBytes, options.ReceiveBufferBytes);
        Connections = new BrokerConnections(
            settings, options.ReconnectBackoff, options.ReconnectBackoffMax, options.SocketConnectionSetupTimeoutMax, options.ConnectionsMaxIdle, HostResolver.System);

        // Bootstrap servers get negative ids, as in the Java client, so they never collide with brokers.
        var bootstrap = options.BootstrapServers.Select((s, i) => BrokerAddress.Parse(s) with { NodeId = -1 - i }).ToList();
        Metadata = new MetadataManager(bootstrap, Connections, options.MetadataMaxAge, options.MetadataMaxIdle, options.ClientDnsLookup, HostResolver.System);
        Metadata.Updated += OnMetadataUpdated;
        Memory = new BufferMemory(options.BufferMemory);
        _maxPooledBatches = (int)Math.Clamp(options.BufferMemory / Math.Max(1, options.BatchSize), 16, 4096);
        Identity = options.EnableIdempotence ? new ProducerIdentity(Metadata, options.RetryBackoff) : null;
        _expiryTimer = new Timer(static state => ((ProducerEngine)state!).OnExpiryTimer(), this, Timeout.Infinite, Timeout.Infinite);
        _completionLoop = Task.Run(CompleteLoopAsync);
    }

    // How often unsent batches are checked against delivery.timeout.ms, and leaderless partitions
    // trigger a metadata refresh. The check runs only while some batch is unreported.
    private static readonly TimeSpan ExpiryCheckInterval = TimeSpan.FromMilliseconds(500);

    public ProducerOptions Options { get; }

    public string ClientId { get; }

    public int CompressionLevel { get; }

    public BrokerConnections Connections { get; }

    public MetadataManager Metadata { get; }

    public BufferMemory Memory { get; }

    /// <summary>Null unless <c>enable.idempotence</c> is in effect.</summary>
    public ProducerIdentity? Identity { get; }

    public bool IsClosed => Volatile.Read(ref _closed) != 0;

    /// <summary>Set once the producer cannot go on; every later record fails with it.</summary>
    public ProducerFatalException? FatalError => Volatile.Read(ref _fatalError);

    /// <summary>Puts the producer in its failed state and fails every record not yet delivered.</summary>
    public void EnterFatalState(KafkaException cause)
    {
        var fatal = new ProducerFatalException(
            $"The producer has failed and cannot produce any more: {cause.Message} Dispose it and create a new one once the cause is fixed.", cause);
        if (Interlocked.CompareExchange(ref _fatalError, fatal, null) is not null)
        {
            return;
        }

        LogFatal(cause, cause.Message);
        FailUnsent(_ => fatal);
    }

    /// <summary>
    /// The topic's state, creating it and starting its metadata fetch on first use. Check
    /// <see cref="TopicState.IsReady"/>: if false, append through <see cref="TopicState.WhenResolved"/>.
    /// </summary>
    public TopicState GetTopic(string topic)
    {
        if (_topics.TryGetValue(topic, out var state))
        {
            if (state.IsReady && Metadata.IsStale)
            {
                Metadata.RequestRefresh();
            }

            return state;
        }

        var created = new TopicState(topic);
        state = _topics.GetOrAdd(topic, created);
        if (ReferenceEquals(state, created))
        {
            _ = ResolveAsync(created);
        }

        return state;
    }

    public ProducerBatch NewBatch(PartitionAccumulator partition)
    {
        if (Interlocked.Exchange(ref _expiryArmed, 1) == 0 && !IsClosed)
        {
            try
            {
                _expiryTimer.Change(ExpiryCheckInterval, Timeout.InfiniteTimeSpan);
            }
            catch (ObjectDisposedException)
            {
            }
        }

        ProducerBatch? reused = null;
        lock (_batchPool)
        {
            _batchPool.TryPop(out reused);
        }

        if (reused is null)
        {
            return new(partition, Math.Min(Options.BatchSize, 1 << 20), MonotonicClock.NowMs);
        }

        reused.Reuse(partition, MonotonicClock.NowMs);
        return reused;
    }

    /// <summary>Waits until every record produced before the call has been reported.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        // Records still waiting for their topic's metadata were produced before this call too.
        await Task.WhenAll(_topics.Values.Where(t => !t.IsReady).Select(t => t.WaitResolvedAsync())).WaitAsync(cancellationToken).ConfigureAwait(false);

        var waiter = new FlushWaiter();
        foreach (var topic in _topics.Values)
        {
            foreach (var partition in topic.Partitions)
            {
                if (partition.BeginFlush(waiter))
                {
                    partition.Sender?.Wake();
                }
            }
        }

        waiter.Arm();
        await waiter.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The batch was acknowledged: report its records.</summary>
    public void Complete(ProducerBatch batch, long baseOffset, long logAppendTimeMs)
    {
        batch.Partition.OnAnswered(batch);
        _completions.Writer.TryWrite(new Completion(batch, null, baseOffset, logAppendTimeMs));
    }

    /// <summary>The batch failed for good: report the error for each of its records.</summary>
    public void Fail(ProducerBatch batch, KafkaException error)
    {
        batch.Partition.OnAnswered(batch);
        _completions.Writer.TryWrite(new Completion(batch, error, -1, -1));
    }

    /// <summary>
    /// Sends a failed batch again after a backoff when the error is retriable and the batch
    /// has retries and time left (<c>retries</c>, <c>delivery.timeout.ms</c>); fails it otherwise.
    /// </summary>
    public void RetryOrFail(ProducerBatch batch, KafkaException error)
    {
        var now = MonotonicClock.NowMs;
        var expired = now - batch.CreatedTicks >= (long)Options.DeliveryTimeout.TotalMilliseconds;

        // The broker no longer accepts this producer's sequence state for the partition (it lost
        // the producer's state, or saw a gap after an expired or failed batch). Rather than fail
        // every later batch too, move to a new epoch, where sequences restart at 0, and send the
        // batch again: only one batch per partition is in flight, so order still holds.
        var sequenceBroken = Identity is not null && error is KafkaBrokerException
            && error.ErrorCode is ErrorCode.OutOfOrderSequenceNumber or ErrorCode.UnknownProducerId or ErrorCode.InvalidProducerEpoch;
        if (sequenceBroken)
        {
            Identity!.RequestBump(batch.SealedIdentity);
        }

        if (FatalError is { } fatal)
        {
            Fail(batch, fatal);
            return;
        }

        if (!(error.IsRetriable || sequenceBroken) || IsClosed || batch.Attempts > Options.Retries || expired)
        {
            Fail(batch, expired && (error.IsRetriable || sequenceBroken)
                ? new KafkaTimeoutException($"{batch.Partition}: delivery.timeout.ms ({Options.DeliveryTimeout.TotalMilliseconds:0} ms) passed after {batch.Attempts} attempt(s); last error: {error.Message}", error) { Topic = batch.Partition.Topic, Partition = batch.Partition.Partition }
                : error);
            return;
        }

        if (error is KafkaNetworkException or KafkaTimeoutException
            || error.ErrorCode is ErrorCode.NotLeaderOrFollower or ErrorCode.LeaderNotAvailable or ErrorCode.UnknownTopicOrPartition
                or ErrorCode.FencedLeaderEpoch or ErrorCode.UnknownLeaderEpoch or ErrorCode.KafkaStorageError)
        {
            Metadata.RequestRefresh();
        }

        LogRetry(batch.Partition.Topic, batch.Partition.Partition, batch.Attempts, error.Message);
        batch.Partition.Requeue(batch, now + (long)RetryBackoff(batch.Attempts).TotalMilliseconds);
        batch.Partition.Sender?.Wake();
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }

        Metadata.Dispose();

        // Connections first: that fails every request still in flight, so no sender is left
        // waiting on an answer when it is stopped.
        await Connections.DisposeAsync().ConfigureAwait(false);
        List<BrokerSender> senders;
        lock (_senders)
        {
            senders = [.. _senders.Values];
        }

        foreach (var sender in senders)
        {
            await sender.DisposeAsync().ConfigureAwait(false);
        }

        FailUnsent(partition => new ProducerClosedException($"The producer was disposed before the record for {partition} was sent."));
        _completions.Writer.TryComplete();
        await _completionLoop.ConfigureAwait(false);
        await _expiryTimer.DisposeAsync().ConfigureAwait(false);
    }

    private void FailUnsent(Func<PartitionAccumulator, KafkaException> error)
    {
        foreach (var topic in _topics.Values)
        {
            foreach (var partition in topic.Partitions)
            {
                foreach (var batch in partition.TakeUnsent())
                {
                    Fail(batch, error(partition));
                }
            }
        }
    }

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
                    Fail(batch, new KafkaTimeoutException(
                        $"{partition}: the record was not sent within delivery.timeout.ms ({Options.DeliveryTimeout.TotalMilliseconds:0} ms)"
                        + (partition.Sender is null ? "; the partition has no leader the producer can reach." : "; its leader did not take it in time."))
                    {
                        Topic = partition.Topic,
                        Partition = partition.Partition,
                    });
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

        // Disarm only when nothing is pending; a batch opened meanwhile re-arms it in NewBatch.
        if (!pending)
        {
            Volatile.Write(ref _expiryArmed, 0);
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

    // KIP-580: exponential backoff with ±20% jitter, so that many clients do not retry in step.
    private TimeSpan RetryBackoff(int attempts)
    {
        var baseMs = Options.RetryBackoff.TotalMilliseconds * Math.Pow(2, Math.Max(0, attempts - 1));
        var capped = Math.Min(baseMs, Math.Max(Options.RetryBackoff.TotalMilliseconds, Options.RetryBackoffMax.TotalMilliseconds));
        return TimeSpan.FromMilliseconds(capped * (0.8 + (Random.Shared.NextDouble() * 0.4)));
    }

    private async Task ResolveAsync(TopicState state)
    {
        TopicInfo info;
        try
        {
            info = await Metadata.GetTopicAsync(state.Name, Options.MaxBlock, CancellationToken.None).ConfigureAwait(false);
        }
        catch (KafkaException e)
        {
            // Forget the topic so that a later record tries again from scratch.
            _topics.TryRemove(new KeyValuePair<string, TopicState>(state.Name, state));
            state.Resolve(e);
            return;
        }

        lock (state)
        {
            state.Info = info;
            state.Partitions = new PartitionAccumulator[info.Partitions.Length];
            for (var i = 0; i < state.Partitions.Length; i++)
            {
                state.Partitions[i] = new PartitionAccumulator(state.Name, i, this);
            }

            AssignLeaders(state, Metadata.Snapshot);
        }

        state.Resolve(null);
    }

    private void OnMetadataUpdated(ClusterSnapshot snapshot)
    {
        foreach (var (name, state) in _topics)
        {
            if (!state.IsReady || !snapshot.Topics.TryGetValue(name, out var info) || info.Partitions.Length == 0)
            {
                continue;
            }

            lock (state)
            {
                if (info.Partitions.Length > state.Partitions.Length)
                {
                    var grown = new PartitionAccumulator[info.Partitions.Length];
                    state.Partitions.CopyTo(grown, 0);
                    for (var i = state.Partitions.Length; i < grown.Length; i++)
                    {
                        grown[i] = new PartitionAccumulator(name, i, this);
                    }

                    state.Partitions = grown;
                }

                state.Info = info;
                AssignLeaders(state, snapshot);
            }
        }
    }

    private void AssignLeaders(TopicState state, ClusterSnapshot snapshot)
    {
        foreach (var partition in state.Partitions)
        {
            var info = partition.Partition < state.Info.Partitions.Length ? state.Info.Partitions[partition.Partition] : PartitionInfo.Unknown(partition.Partition);
            BrokerSender? leader = null;
            if (info.HasLeader && snapshot.Brokers.TryGetValue(info.LeaderId, out var address))
            {
                leader = SenderFor(address);
            }

            MoveTo(partition, leader);
        }
    }

    /// <summary>
    /// Moves a partition to the leader a Produce response named (KIP-951), using the endpoint the
    /// response carried when the broker is not in the metadata yet. Metadata is refreshed anyway.
    /// </summary>
    public void ApplyLeaderHint(PartitionAccumulator partition, int leaderId, List<Protocol.Messages.ProduceResponse.NodeEndpoint> endpoints)
    {
        var address = Metadata.Snapshot.Brokers.TryGetValue(leaderId, out var known) ? known : (BrokerAddress?)null;
        foreach (var endpoint in endpoints)
        {
            if (address is null && endpoint.NodeId == leaderId)
            {
                address = new BrokerAddress(endpoint.NodeId, endpoint.Host, endpoint.Port);
            }
        }

        if (address is not { } leader)
        {
            return;
        }

        MoveTo(partition, SenderFor(leader));
    }

    // Metadata updates and leader hints (on the receive loop) may move a partition at once; a
    // sender skips a partition that is no longer its own, so a stale entry in its list is harmless.
    private static void MoveTo(PartitionAccumulator partition, BrokerSender? leader)
    {
        var previous = partition.SwapSender(leader);
        if (ReferenceEquals(previous, leader))
        {
            return;
        }

        previous?.Unassign(partition);
        leader?.Assign(partition);
    }

    private BrokerSender SenderFor(BrokerAddress address)
    {
        lock (_senders)
        {
            if (!_senders.TryGetValue(address.NodeId, out var sender))
            {
                sender = new BrokerSender(this, address);
                _senders[address.NodeId] = sender;
            }
            else if (sender.Address != address)
            {
                sender.Address = address;
            }

            return sender;
        }
    }

    private async Task CompleteLoopAsync()
    {
        var reader = _completions.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            ReportingThread.Enter();
            try
            {
                while (reader.TryRead(out var completion))
                {
                    Report(completion);
                }
            }
            finally
            {
                ReportingThread.Exit();
            }
        }
    }

    private void Report(in Completion completion)
    {
        var batch = completion.Batch;
        var partition = batch.Partition;
        var logAppendTime = completion.LogAppendTimeMs >= 0;
        var deliveries = batch.Deliveries;
        for (var i = 0; i < deliveries.Count; i++)
        {
            var delivery = deliveries[i];
            var timestamp = logAppendTime
                ? new Timestamp(completion.LogAppendTimeMs, TimestampType.LogAppendTime)
                : new Timestamp(delivery.TimestampMs, TimestampType.CreateTime);
            var offset = completion.Error is null && completion.BaseOffset >= 0 ? completion.BaseOffset + i : -1;
            var result = new DeliveryResult(partition.Topic, partition.Partition, offset, timestamp);
            if (completion.Error is null)
            {
                delivery.Promise?.Succeed(result);
            }
            else
            {
                delivery.Promise?.Fail(completion.Error);
            }

            if (delivery.Handler is { } handler)
            {
                try
                {
                    handler(new DeliveryReport(result, completion.Error));
                }
                catch (Exception e)
                {
                    // A throwing handler must not stop the reports of the records behind it.
                    LogHandlerFailed(e, partition.Topic, partition.Partition);
                }
            }
        }

        partition.Remove(batch);
        Memory.Release(batch.ReservedBytes);
        batch.ReleaseFlushWaiters();
        lock (_batchPool)
        {
            if (_batchPool.Count < _maxPooledBatches)
            {
                // Clear the references now, so a pooled batch keeps no caller's objects alive.
                batch.Deliveries.Clear();
                _batchPool.Push(batch);
                return;
            }
        }

        batch.Dispose();
    }

    [LoggerMessage(EventId = 1001, Level = LogLevel.Debug, Message = "Retrying batch for {Topic}[{Partition}] (attempt {Attempts}): {Reason}")]
    private partial void LogRetry(string topic, int partition, int attempts, string reason);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Critical, Message = "The producer entered its failed state: {Reason}")]
    private partial void LogFatal(Exception exception, string reason);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Error, Message = "A delivery handler threw for a record of {Topic}[{Partition}]; the producer goes on")]
    private partial void LogHandlerFailed(Exception exception, string topic, int partition);

    private readonly record struct Completion(ProducerBatch Batch, KafkaException? Error, long BaseOffset, long LogAppendTimeMs);
}
