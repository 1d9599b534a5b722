using System.Diagnostics;
using Samsa.Network;
using Samsa.Producer.Internal;
using static Samsa.Diagnostics.TelemetryNames;

namespace Samsa.Diagnostics;

/// <summary>
/// One producer's side of the <c>Samsa</c> meter (its <see cref="ProducerInstruments"/>, held for its life) and
/// activity source. Counting is per batch or per request where it can be (a batch knows its record count); only
/// the duration histogram and the sampled spans are per record. Every method checks <see cref="System.Diagnostics.Metrics.Instrument.Enabled"/>
/// first, so a producer nobody listens to pays a field read per call.
/// </summary>
internal sealed class ProducerTelemetry : IDisposable
{
    private readonly ProducerEngine _engine;
    private readonly ProducerInstruments _instruments;
    private readonly long _startedAtMs = Environment.TickCount64;
    private PushMetrics? _push;

    public ProducerTelemetry(ProducerEngine engine, ProducerInstruments instruments, string clientId, bool injectTraceHeaders, bool rootSpans, bool countRecordTotals)
    {
        _engine = engine;
        _instruments = instruments;
        ClientId = clientId;
        InjectTraceHeaders = injectTraceHeaders;
        RootSpans = rootSpans;
        RecordTotals = countRecordTotals ? new RecordTotals() : null;
        instruments.Register(this);
    }

    public string ClientId { get; }

    /// <summary>The record totals a KIP-714 push reports, counted from the start while metrics push is on; else null.</summary>
    public RecordTotals? RecordTotals { get; }

    /// <summary>What a KIP-714 push reads; set while a broker subscribes to some metric, else null (no window gathered).</summary>
    public PushMetrics? Push
    {
        get => Volatile.Read(ref _push);
        set => Volatile.Write(ref _push, value);
    }

    public bool InjectTraceHeaders { get; }

    /// <summary>Whether a record produced with no current activity may start a trace (<c>samsa.tracing.root.spans</c>).</summary>
    public bool RootSpans { get; }

    // What the observable gauges read, when a listener collects.
    public long BufferUsed => _engine.Memory.Used;

    public long BufferAvailable => Math.Max(0, _engine.Memory.Limit - _engine.Memory.Used);

    public long RecordsQueued => _engine.CountQueuedRecords();

    public double MetadataAgeSeconds
    {
        get
        {
            var refreshed = _engine.Metadata.Snapshot.RefreshedAtTicks;
            return (Environment.TickCount64 - (refreshed == 0 ? _startedAtMs : refreshed)) / 1000.0;
        }
    }

    public long ConnectionCount => _engine.Connections.GetHealth().Connected;

    public long ConnectionsCreated => _engine.Connections.ConnectionsCreated;

    /// <summary>What a record carries from its call: the time, if the duration is measured, and its span, if sampled.</summary>
    public RecordTelemetry Begin<TKey>(string topic, TKey? key, bool valueIsNull, Headers? headers)
    {
        var accepted = _instruments.OperationDuration.Enabled ? Stopwatch.GetTimestamp() : 0;
        var trace = SendTrace.Start(topic, key, valueIsNull, ClientId, headers, InjectTraceHeaders, RootSpans);
        return new RecordTelemetry(accepted, trace);
    }

    /// <summary>A record that failed before it reached a batch (serialization, size, buffer full, closed).</summary>
    public void OnRejected(string topic, KafkaException error, in RecordTelemetry record)
    {
        record.Trace?.Fail(error, partitionId: null);
        RecordTotals?.RecordsFailed(1);
        if (_instruments.SentMessages.Enabled || _instruments.RecordErrors.Enabled || (record.AcceptedTimestamp != 0 && _instruments.OperationDuration.Enabled))
        {
            var tags = new TagList
            {
                { MessagingSystem, Kafka },
                { MessagingOperationName, Send },
                { DestinationName, topic },
                { TelemetryNames.ClientId, ClientId },
                { ErrorType, ErrorTypes.Of(error) },
            };
            _instruments.SentMessages.Add(1, tags);
            _instruments.RecordErrors.Add(1, tags);
            if (record.AcceptedTimestamp != 0)
            {
                _instruments.OperationDuration.Record(Stopwatch.GetElapsedTime(record.AcceptedTimestamp).TotalSeconds, tags);
            }
        }
    }

    /// <summary>
    /// Every record of a batch has its outcome: spans end, durations are recorded, and the batch is
    /// counted once. Called on the reporting loop.
    /// </summary>
    public void OnReported(ProducerBatch batch, KafkaException? error, long baseOffset)
    {
        var partition = batch.Partition;
        var deliveries = batch.Deliveries;
        if (RecordTotals is { } totals)
        {
            if (error is null)
            {
                totals.RecordsSent(deliveries.Count);
            }
            else
            {
                totals.RecordsFailed(deliveries.Count);
            }
        }

        var durations = _instruments.OperationDuration.Enabled;
        var counted = _instruments.SentMessages.Enabled || (error is not null && _instruments.RecordErrors.Enabled);
        if (!durations && !counted && !batch.Traced)
        {
            return;
        }

        var tags = new TagList
        {
            { MessagingSystem, Kafka },
            { MessagingOperationName, Send },
            { DestinationName, partition.Topic },
            { PartitionId, partition.PartitionId },
            { TelemetryNames.ClientId, ClientId },
        };
        if (error is not null)
        {
            tags.Add(ErrorType, ErrorTypes.Of(error));
        }

        var now = Stopwatch.GetTimestamp();
        for (var i = 0; i < deliveries.Count; i++)
        {
            var telemetry = deliveries[i].Telemetry;
            if (durations && telemetry.AcceptedTimestamp != 0)
            {
                _instruments.OperationDuration.Record(Stopwatch.GetElapsedTime(telemetry.AcceptedTimestamp, now).TotalSeconds, tags);
            }

            if (telemetry.Trace is { } trace)
            {
                if (error is null)
                {
                    trace.Succeed(partition.PartitionId, baseOffset >= 0 ? baseOffset + i : -1);
                }
                else
                {
                    trace.Fail(error, partition.PartitionId);
                }
            }
        }

        _instruments.SentMessages.Add(deliveries.Count, tags);
        if (error is not null)
        {
            _instruments.RecordErrors.Add(deliveries.Count, tags);
        }
    }

    /// <summary>A batch goes again after a failed attempt: its records count as retried.</summary>
    public void OnRetry(ProducerBatch batch, KafkaException error)
    {
        RecordTotals?.RecordsRetried(batch.Builder.RecordCount);
        if (_instruments.RecordRetries.Enabled)
        {
            var tags = new TagList
            {
                { MessagingSystem, Kafka },
                { DestinationName, batch.Partition.Topic },
                { TelemetryNames.ClientId, ClientId },
                { ErrorType, ErrorTypes.Of(error) },
            };
            _instruments.RecordRetries.Add(batch.Builder.RecordCount, tags);
        }
    }

    /// <summary>A batch was sealed for its first send: its size and compression ratio.</summary>
    public void OnBatchSealed(ProducerBatch batch, CompressionType compression)
    {
        // KIP-714's record.queue.time: from the batch's first record to its first send.
        Push?.QueueTime(MonotonicClock.NowMs - batch.CreatedTicks);
        if (!_instruments.BatchSize.Enabled && !_instruments.CompressionRatio.Enabled)
        {
            return;
        }

        var tags = new TagList
        {
            { MessagingSystem, Kafka },
            { DestinationName, batch.Partition.Topic },
            { TelemetryNames.ClientId, ClientId },
        };
        var sealedBytes = batch.Sealed.Length;
        _instruments.BatchSize.Record(sealedBytes, tags);
        var uncompressed = batch.Builder.SizeInBytes;
        if (uncompressed > 0)
        {
            tags.Add(TelemetryNames.CompressionType, ProducerConfigParser.CompressionTypeName(compression));
            _instruments.CompressionRatio.Record(compression == Samsa.CompressionType.None ? 1.0 : (double)sealedBytes / uncompressed, tags);
        }
    }

    /// <summary>
    /// A Produce request is written to <paramref name="broker"/>: it is in flight, and its records are counted.
    /// Returns the time to hand to <see cref="OnRequestCompleted"/> (0 when nobody listens);
    /// <paramref name="inFlightCounted"/> says whether the request was added to the in-flight count.
    /// </summary>
    public long OnRequestSent(BrokerTags broker, List<ProducerBatch> batches, out bool inFlightCounted)
    {
        if (_instruments.RequestRecords.Enabled)
        {
            var records = 0;
            foreach (var batch in batches)
            {
                records += batch.Builder.RecordCount;
            }

            _instruments.RequestRecords.Record(records, broker.Tags(ClientId));
        }

        inFlightCounted = _instruments.RequestsInFlight.Enabled;
        if (inFlightCounted)
        {
            _instruments.RequestsInFlight.Add(1, broker.Tags(ClientId));
        }

        return _instruments.RequestDuration.Enabled || Push is not null ? Stopwatch.GetTimestamp() : 0;
    }

    /// <summary>The request sent at <paramref name="sentTimestamp"/> was answered, or failed (<paramref name="error"/>).</summary>
    public void OnRequestCompleted(BrokerTags broker, long sentTimestamp, bool inFlightCounted, KafkaException? error)
    {
        if (inFlightCounted)
        {
            // Paired with the Add in OnRequestSent, whatever listeners came or went since.
            _instruments.RequestsInFlight.Add(-1, broker.Tags(ClientId));
        }

        if (sentTimestamp != 0 && Push is { } push)
        {
            push.NodeLatency(broker.Address.NodeId, Stopwatch.GetElapsedTime(sentTimestamp).TotalMilliseconds);
        }

        if (sentTimestamp != 0 && _instruments.RequestDuration.Enabled)
        {
            var tags = broker.Tags(ClientId);
            if (error is not null)
            {
                tags.Add(ErrorType, ErrorTypes.Of(error));
            }

            _instruments.RequestDuration.Record(Stopwatch.GetElapsedTime(sentTimestamp).TotalSeconds, tags);
        }
    }

    /// <summary>A Produce answer's throttle time (KIP-219), zero included.</summary>
    public void OnThrottle(BrokerTags broker, int throttleTimeMs)
    {
        Push?.Throttle(throttleTimeMs);
        if (_instruments.ThrottleDuration.Enabled)
        {
            _instruments.ThrottleDuration.Record(throttleTimeMs / 1000.0, broker.Tags(ClientId));
        }
    }

    public void Dispose() => _instruments.Unregister(this);
}

/// <summary>A broker's attributes (<c>server.address</c>, <c>server.port</c>), built once per address rather than per request.</summary>
internal sealed class BrokerTags(BrokerAddress address)
{
    private readonly object _port = address.Port;

    public BrokerAddress Address { get; } = address;

    public TagList Tags(string clientId) => new()
    {
        { MessagingSystem, Kafka },
        { ServerAddress, Address.Host },
        { ServerPort, _port },
        { TelemetryNames.ClientId, clientId },
    };
}
