using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Samsa.Cluster;
using Samsa.Diagnostics;
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

    // Failures repeated for every record reach the log at once, then at most once per interval (with a count).
    private static readonly TimeSpan RecordFailureLogInterval = TimeSpan.FromSeconds(10);
    private readonly LogLimiter _handlerFailures = new(RecordFailureLogInterval);
    private readonly LogLimiter _unhandledFailures = new(RecordFailureLogInterval);
    private readonly LogLimiter _abandonedFailures = new(RecordFailureLogInterval);

    // The interceptors' OnAcknowledgement, called for every record before its promise and handler; null without
    // interceptors, so the reporting loop pays one null check for them.
    private readonly IAcknowledgementSink? _acknowledgements;

    // Reported batches, kept for reuse with their standard-size buffers (grown ones go to the pool, see ProducerBatch.Park).
    // As many as buffer.memory can keep in use at once, so a busy producer stops allocating them.
    private readonly Stack<ProducerBatch> _batchPool = new();

    // The producer's idle arrays other than pooled batches' standard buffers (grown batch buffers and compression
    // outputs, waiting records' chunks), up to buffer.memory in total (see BatchBufferPool); and the chunks the
    // batches' delivery lists are made of.
    private readonly BatchBufferPool _batchBuffers;
    private readonly DeliveryChunks _deliveryChunks;

    /// <summary>Where records that wait for memory or metadata keep their bytes.</summary>
    public PendingBytesArena PendingBytes { get; }

    private readonly int _maxPooledBatches;

    private readonly Timer _expiryTimer;

    private readonly SweepSchedule _expirySchedule;

    private int _closed;

    private KafkaException? _fatalError;

    /// <param name="options">The validated options.</param>
    /// <param name="loggers">Where the producer logs.</param>
    /// <param name="acknowledgements">The interceptors' acknowledgement callback, or null without interceptors.</param>
    /// <param name="instruments">The meter's instruments to record to; null: the static meter's (<see cref="ProducerInstruments.Shared"/>).</param>
    public ProducerEngine(ProducerOptions options, SamsaLoggers loggers, IAcknowledgementSink? acknowledgements = null, ProducerInstruments? instruments = null)
    {
        // First, so that stores that cannot be loaded fail Build() before anything starts.
        var tls = options.SecurityProtocol.UsesTls() ? Security.TlsConnector.Create(options.Tls) : null;
        Options = options;
        Loggers = loggers;
        _logger = loggers.Producer;
        _acknowledgements = acknowledgements;
        ClientId = options.ClientId.Length > 0 ? options.ClientId : $"samsa-producer-{Interlocked.Increment(ref _producerCount)}";
        CompressionLevel = options.CompressionLevel ?? Compression.Compressor.DefaultLevel;
        BacklogBatchLimit = Math.Max(options.BatchSize, (int)Math.Min(Math.Min(options.MaxRequestSize - RequestHeadroom, 1 << 20), options.BufferMemory / 32));
        var settings = new ConnectionSettings(
            ClientId, options.SocketConnectionSetupTimeout, options.RequestTimeout, options.SendBufferBytes, options.ReceiveBufferBytes, tls, Security.SaslAuthenticator.Create(options, loggers.Security));
        Connections = new BrokerConnections(
            settings, options.ReconnectBackoff, options.ReconnectBackoffMax, options.SocketConnectionSetupTimeoutMax, options.ConnectionsMaxIdle, HostResolver.System, logger: loggers.Network, securityLogger: loggers.Security);
        Connections.AuthenticationFailed += EnterFatalState;

        // Bootstrap servers get negative ids, as in the Java client, so they never collide with brokers.
        var bootstrap = options.BootstrapServers.Select((s, i) => BrokerAddress.Parse(s) with { NodeId = -1 - i }).ToList();
        Metadata = new MetadataManager(bootstrap, Connections, options.MetadataMaxAge, options.MetadataMaxIdle, options.ClientDnsLookup, HostResolver.System, logger: loggers.Metadata);
        Metadata.Updated += OnMetadataUpdated;
        Memory = new BufferMemory(options.BufferMemory);
        _maxPooledBatches = (int)Math.Clamp(options.BufferMemory / Math.Max(1, options.BatchSize), 16, 4096);
        _batchBuffers = new BatchBufferPool(options.BufferMemory);
        _deliveryChunks = new DeliveryChunks(options.BufferMemory);
        PendingBytes = new PendingBytesArena(_batchBuffers);
        Identity = options.EnableIdempotence ? new ProducerIdentity(Metadata, options.RetryBackoff, loggers.Producer, transactional: options.TransactionalId is not null) : null;
        Transactions = options.TransactionalId is not null ? new TransactionManager(this, Identity!, loggers.Producer) : null;
        _expiryTimer = new Timer(static state => ((ProducerEngine)state!).OnExpiryTimer(), this, Timeout.Infinite, Timeout.Infinite);
        _expirySchedule = new SweepSchedule(ScheduleExpiryCheck);
        Telemetry = new Diagnostics.ProducerTelemetry(this, instruments ?? ProducerInstruments.Shared, ClientId, options.InjectTraceHeaders, options.RootSpans, countRecordTotals: options.EnableMetricsPush);
        ClientTelemetry = options.EnableMetricsPush ? new Diagnostics.ClientTelemetry(this) : null;
        _completionLoop = Task.Run(CompleteLoopAsync);
    }

    // Bytes of a Produce request beyond its one batch (header, client id, topic name, array sizes).
    private const int RequestHeadroom = 1024;

    public ProducerOptions Options { get; }

    /// <summary>The producer's loggers, by area.</summary>
    public SamsaLoggers Loggers { get; }

    public string ClientId { get; }

    public int CompressionLevel { get; }

    /// <summary>
    /// How large a partition's open batch may grow under backlog (see <see cref="PartitionAccumulator.Append"/>):
    /// 1 MiB, within max.request.size less room for the request's own header and within a 32nd of buffer.memory
    /// (so that a few backlogged partitions cannot hold the whole buffer in batches that wait), never below batch.size.
    /// </summary>
    public int BacklogBatchLimit { get; }

    public BrokerConnections Connections { get; }

    public MetadataManager Metadata { get; }

    public BufferMemory Memory { get; }

    /// <summary>This producer's metrics and spans (a <c>Samsa</c> meter and the <c>Samsa</c> activity source).</summary>
    public Diagnostics.ProducerTelemetry Telemetry { get; }

    /// <summary>KIP-714 metrics push; null with <c>enable.metrics.push=false</c>.</summary>
    public Diagnostics.ClientTelemetry? ClientTelemetry { get; }

    /// <summary>Null unless <c>enable.idempotence</c> is in effect.</summary>
    public ProducerIdentity? Identity { get; }

    /// <summary>Null unless <c>transactional.id</c> is set.</summary>
    public TransactionManager? Transactions { get; }

    public bool IsClosed => Volatile.Read(ref _closed) != 0;

    /// <summary>
    /// Set once the producer cannot go on; every later record fails with it: a <see cref="ProducerFatalException"/>,
    /// or the cause itself when it is fatal by nature (<see cref="KafkaAuthenticationException"/>), so callers can catch its type.
    /// </summary>
    public KafkaException? FatalError => Volatile.Read(ref _fatalError);

    /// <summary>The state <see cref="IProducer{TKey, TValue}.GetHealth"/> reports; read-only, off the produce path.</summary>
    public ProducerHealth GetHealth()
    {
        var connections = Connections.GetHealth();
        return new ProducerHealth(
            FatalError, Memory.Used, Memory.Limit, connections.Connected, connections.Unreachable, connections.LastError);
    }

    /// <summary>Records accepted and not yet reported, for the <c>samsa.producer.records.queued</c> gauge (off the produce path).</summary>
    public long CountQueuedRecords()
    {
        long count = 0;
        foreach (var topic in _topics.Values)
        {
            count += topic.WaitingCount;
            foreach (var partition in topic.Partitions)
            {
                count += partition.QueuedRecords;
            }
        }

        return count;
    }

    /// <summary>Puts the producer in its failed state and fails every record not yet delivered.</summary>
    public void EnterFatalState(KafkaException cause)
    {
        var fatal = cause.IsFatal ? cause : new ProducerFatalException(
            $"The producer has failed and cannot produce any more: {cause.Message} Dispose it and create a new one once the cause is fixed.", cause);
        if (Interlocked.CompareExchange(ref _fatalError, fatal, null) is not null)
        {
            return;
        }

        DeliveryLog.ProducerFailed(_logger, cause, cause.Message);
        Transactions?.OnFatal(fatal);
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
            return new(partition, Math.Min(Options.BatchSize, 1 << 20), MonotonicClock.NowMs, _batchBuffers, _deliveryChunks);
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

    public ValueTask DisposeAsync() => DisposeAsync(Timeout.InfiniteTimeSpan);

    /// <summary>Closes the producer, failing what it did not send; <paramref name="timeLeft"/> bounds the last metrics push (infinite: no bound beyond its own).</summary>
    public async ValueTask DisposeAsync(TimeSpan timeLeft)
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }

        if (ClientTelemetry is { } clientTelemetry)
        {
            // KIP-714: the last push says the client is terminating; while the connections still stand, and not past
            // the close's time (a close with no time left fails the records without waiting for it).
            var pushBound = TimeSpan.FromMilliseconds(Math.Min(2000, Options.RequestTimeout.TotalMilliseconds));
            await clientTelemetry.TerminateAsync(timeLeft == Timeout.InfiniteTimeSpan || timeLeft > pushBound ? pushBound : timeLeft).ConfigureAwait(false);
            await clientTelemetry.DisposeAsync().ConfigureAwait(false);
        }

        FailWaitingRecords();
        Transactions?.Dispose();
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
        Telemetry.Dispose();
    }

    /// <summary>Fails every batch not in flight (shutdown, the fatal state, a transaction that aborts).</summary>
    public void FailUnsent(Func<PartitionAccumulator, KafkaException> error)
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
}
