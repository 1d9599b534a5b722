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
    private readonly SweepSchedule _expirySchedule;
    private int _closed;
    private ProducerFatalException? _fatalError;

    public ProducerEngine(ProducerOptions options, ILogger logger)
    {
        Options = options;
        _logger = logger;
        ClientId = options.ClientId.Length > 0 ? options.ClientId : $"samsa-producer-{Interlocked.Increment(ref _producerCount)}";
        CompressionLevel = options.CompressionLevel ?? Compression.Compressor.DefaultLevel;
        BacklogBatchLimit = Math.Max(options.BatchSize, Math.Min(options.MaxRequestSize - RequestHeadroom, 1 << 20));
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
        _expirySchedule = new SweepSchedule(ScheduleExpiryCheck);
        _completionLoop = Task.Run(CompleteLoopAsync);
    }

    // Bytes of a Produce request beyond its one batch (header, client id, topic name, array sizes).
    private const int RequestHeadroom = 1024;

    // How often unsent batches are checked against delivery.timeout.ms, and leaderless partitions
    // trigger a metadata refresh. The check runs only while some batch is unreported.
    private static readonly TimeSpan ExpiryCheckInterval = TimeSpan.FromMilliseconds(500);

    public ProducerOptions Options { get; }

    public string ClientId { get; }

    public int CompressionLevel { get; }

    /// <summary>
    /// How large a partition's open batch may grow under backlog (see <see cref="PartitionAccumulator.Append"/>):
    /// 1 MiB, within max.request.size less room for the request's own header, and never below batch.size.
    /// </summary>
    public int BacklogBatchLimit { get; }

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
    /// <see cref="TopicState.IsReady"/>: if false, queue the record with <see cref="TopicState.TryEnqueue"/>.
    /// </summary>
    public TopicState GetTopic(string topic)
    {
        if (_topics.TryGetValue(topic, out var state))
        {
            if (state.IsReady && Metadata.IsStale)
            {
                Metadata.RequestRefresh();
            }

            // metadata.max.idle.ms counts from the topic's last use; a second's precision is plenty
            // for a limit of at least five, and spares the produce path a lookup per record.
            var now = MonotonicClock.NowMs;
            if (now - Volatile.Read(ref state.LastTouchedMs) >= 1000)
            {
                Volatile.Write(ref state.LastTouchedMs, now);
                Metadata.Touch(topic);
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
        _expirySchedule.Arm();

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
            LogSplit(partition.Topic, partition.Partition, batch.Builder.RecordCount, code);
            partition.SplitTooLarge(batch, MonotonicClock.NowMs);
            partition.Sender?.Wake();
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
                ? new KafkaTimeoutException($"{partition}: delivery.timeout.ms ({Options.DeliveryTimeout.TotalMilliseconds:0} ms) passed after {batch.Attempts} attempt(s); last error: {error.Message}", error) { Topic = partition.Topic, Partition = partition.Partition }
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

            if (verdict == RetryVerdict.RetryAfterEpochBump)
            {
                LogEpochBump(partition.Topic, partition.Partition, batch.Identity.ProducerId, batch.Identity.Epoch, error.Message);
            }
            else
            {
                LogRetry(partition.Topic, partition.Partition, batch.Attempts, error.Message);
            }
        }

        partition.Sender?.Wake();
    }

    /// <summary>A broker asked the producer to slow down (KIP-219); its sender holds back meanwhile.</summary>
    public void OnThrottled(BrokerAddress broker, int throttleTimeMs) => LogThrottled(broker, throttleTimeMs);

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }

        FailWaitingRecords();
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
                    Report(new Completion(batch, error(partition), -1, -1));
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
                    Report(new Completion(batch, new KafkaTimeoutException(
                        $"{partition}: the record was not sent within delivery.timeout.ms ({Options.DeliveryTimeout.TotalMilliseconds:0} ms)"
                        + (partition.Sender is null ? "; the partition has no leader the producer can reach." : "; its leader did not take it in time."))
                    {
                        Topic = partition.Topic,
                        Partition = partition.Partition,
                    }, -1, -1));
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
            info = await Metadata.GetTopicAsync(state.Name, Options.MaxBlock, _closing.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Disposed: DisposeAsync has failed the records that waited (this is a no-op then).
            state.Resolve(ClosedWhileWaitingForMetadata(state.Name));
            return;
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
    public void ApplyLeaderHint(PartitionAccumulator partition, int leaderId, int leaderEpoch, List<Protocol.Messages.ProduceResponse.NodeEndpoint> endpoints)
    {
        var address = Metadata.Snapshot.Brokers.TryGetValue(leaderId, out var known) ? known : (BrokerAddress?)null;
        foreach (var endpoint in endpoints)
        {
            if (address is null && endpoint.NodeId == leaderId)
            {
                address = new BrokerAddress(endpoint.NodeId, endpoint.Host, endpoint.Port);
            }
        }

        // A hint older than what the producer knows (KIP-320 leader epochs) must not move it back.
        if (address is not { } leader || !Metadata.TryApplyLeaderHint(partition.Topic, partition.Partition, leaderEpoch, leader))
        {
            return;
        }

        MoveTo(partition, SenderFor(leader));
    }

    private static void MoveTo(PartitionAccumulator partition, BrokerSender? leader) => partition.MoveTo(leader);

    private BrokerSender SenderFor(BrokerAddress address)
    {
        lock (_senders)
        {
            if (!_senders.TryGetValue(address.NodeId, out var sender))
            {
                sender = new BrokerSender(this, address);
                _senders[address.NodeId] = sender;
                sender.Start();
            }
            else if (sender.Address != address)
            {
                sender.Address = address;
            }

            return sender;
        }
    }

    // Reports go through the loop, in order; once it has closed (the producer is disposed), a late
    // answer is reported right here rather than dropped, so its caller is never left waiting.
    private void Report(in Completion completion)
    {
        if (_completions.Writer.TryWrite(completion))
        {
            return;
        }

        ReportingThread.Enter();
        try
        {
            ReportNow(completion);
        }
        finally
        {
            ReportingThread.Exit();
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
                    ReportNow(completion);
                }
            }
            finally
            {
                ReportingThread.Exit();
            }
        }
    }

    private void ReportNow(in Completion completion)
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

        partition.Reported(batch);
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

    [LoggerMessage(EventId = 1004, Level = LogLevel.Debug, Message = "Broker {Broker} throttled the producer for {ThrottleTimeMs} ms (KIP-219); its requests wait")]
    private partial void LogThrottled(BrokerAddress broker, int throttleTimeMs);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Information, Message = "The broker refused a batch of {RecordCount} records for {Topic}[{Partition}] as too large ({Error}); it goes again as two batches")]
    private partial void LogSplit(string topic, int partition, int recordCount, ErrorCode error);

    [LoggerMessage(EventId = 1006, Level = LogLevel.Warning, Message = "The sequence state of {Topic}[{Partition}] (producer id {ProducerId}, epoch {Epoch}) is broken: the partition moves to the next epoch and resends from sequence 0 ({Reason})")]
    private partial void LogEpochBump(string topic, int partition, long producerId, short epoch, string reason);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Critical, Message = "The producer entered its failed state: {Reason}")]
    private partial void LogFatal(Exception exception, string reason);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Error, Message = "A delivery handler threw for a record of {Topic}[{Partition}]; the producer goes on")]
    private partial void LogHandlerFailed(Exception exception, string topic, int partition);

    private readonly record struct Completion(ProducerBatch Batch, KafkaException? Error, long BaseOffset, long LogAppendTimeMs);
}
