using System.Collections.Concurrent;
using System.Net.Sockets;

namespace Samsa.Testing.Proxy;

/// <summary>What the proxy does with one request after the <see cref="TransactionFront"/> saw it.</summary>
/// <param name="State">Kept with the request and handed back with its answer (null: the answer is not looked at).</param>
/// <param name="Answer">Not forwarded: this is the answer (with its size prefix).</param>
/// <param name="AnswerLater">Not forwarded: the front works out the answer (with the broker, on connections of its own).</param>
internal readonly record struct TxnVerdict(object? State, byte[]? Answer = null, Func<CancellationToken, Task<byte[]>>? AnswerLater = null)
{
    /// <summary>Forwarded instead of the client's request (with its size prefix): the request in a version the mock knows.</summary>
    public byte[]? Forward { get; init; }
}

/// <summary>A transaction marker (control batch) in a partition's log, as a Fetch answer carried it.</summary>
/// <param name="Offset">Its offset: the one right after the transaction's last record in the partition.</param>
/// <param name="ProducerId">The producer id whose transaction it ends.</param>
/// <param name="IsCommit">True for a COMMIT marker, false for an ABORT marker.</param>
public sealed record TransactionMarker(long Offset, long ProducerId, bool IsCommit);

/// <summary>
/// Makes librdkafka's mock cluster behind a <see cref="KafkaProxy"/> behave as a Kafka broker does for transactions
/// (KIP-98, KIP-360, KIP-447, KIP-588), where the mock does not: enable it with <see cref="KafkaProxy.EnableTransactionFront"/>
/// before any client connects.
/// </summary>
/// <remarks>
/// <para>It follows every transaction from what passes through the proxy (InitProducerId answers, AddPartitionsToTxn,
/// AddOffsetsToTxn, the transactional batches of Produce answers, TxnOffsetCommit, EndTxn answered without error) and keeps,
/// per partition, the open transactions and the aborted ones with their offsets. From that it makes the mock's answers
/// a real broker's:</para>
/// <list type="bullet">
/// <item><b>Fetch</b> (the proxy advertises Fetch up to v11, <see cref="MaxFetchVersion"/>): last_stable_offset is the
/// first offset of the earliest open transaction (else the high watermark); a read_committed fetch gets no record at or
/// past it, and the aborted transactions (producer id, first offset) overlapping its records; control batches (markers) the
/// mock writes with a zero CRC get their CRC-32C, so <c>check.crcs=true</c> consumers accept them.</item>
/// <item><b>ListOffsets</b> for the end (timestamp -1) at read_committed answers the last stable offset.</item>
/// <item><b>Fencing:</b> an InitProducerId without a producer id for a transactional id the front knows is not forwarded:
/// the old epoch is refused from that moment, the front aborts that id's ongoing transaction (EndTxn abort with the old epoch, so the mock writes the ABORT markers),
/// bumps the SAME producer id's epoch (InitProducerId v3 with the known id and epoch, KIP-360), and answers the new producer
/// with it, in its version (an error on either step, e.g. NOT_COORDINATOR, is the new producer's answer instead, and nothing is
/// fenced until it retries). From then on the proxy refuses, without forwarding, Produce batches of that producer id with an
/// older epoch (INVALID_PRODUCER_EPOCH, 47, as Kafka 3.x) and AddPartitionsToTxn, AddOffsetsToTxn, TxnOffsetCommit and
/// EndTxn with an older epoch (PRODUCER_FENCED, 90).</item>
/// <item><b>Transactional offsets:</b> the offsets of TxnOffsetCommit requests the mock accepted are kept per transaction;
/// when its EndTxn(commit) is answered without error, the front commits them to the mock itself (OffsetCommit v2 on a
/// connection of its own, with the generation and member id of the TxnOffsetCommit, -1 and "" before v3) before the client
/// gets the answer; an abort drops them. Offsets sent with the group id alone (generation -1, no member id), which a Kafka
/// coordinator stores without membership checks, are committed as the member whose Heartbeat or SyncGroup the mock last
/// accepted (the mock refuses an OffsetCommit from no member of a group that has members), again while a rebalance makes
/// that member stale. While they wait, an OffsetFetch asking for stable offsets (require_stable, KIP-447,
/// as read_committed consumers ask) gets UNSTABLE_OFFSET_COMMIT (88) for those partitions and retries: the proxy advertises
/// OffsetFetch v7 and hands the mock (v6 at most) the same request as v6.</item>
/// </list>
/// <para>Not emulated: transaction timeouts, INVALID_TXN_STATE and the coordinator's other state checks (the mock has none),
/// Fetch v12+ (not advertised), KIP-890 (transactions version 2), and records the mock stored before the front saw the
/// Produce answer (a read_committed fetch racing the answer may see them). Failures of the front's own requests are in
/// <see cref="Errors"/>.</para>
/// </remarks>
public sealed class TransactionFront
{
    /// <summary>The highest Fetch version the proxy advertises while the front is on (v12+ is flexible and not rewritten).</summary>
    public const short MaxFetchVersion = FetchRewriter.MaxFetchVersion;

    private const short InvalidProducerEpoch = 47;
    private const short ProducerFenced = 90;
    private const short IllegalGeneration = 22;
    private const short UnknownMemberId = 25;
    private const short RebalanceInProgress = 27;
    private static readonly TimeSpan MemberRetryPause = TimeSpan.FromMilliseconds(100);
    private const int MaxHeldBackWaitMs = 200;
    private static readonly TimeSpan OwnRequestBound = TimeSpan.FromSeconds(10);

    private readonly Lock _gate = new();
    private readonly Dictionary<string, TransactionalIdState> _ids = new(StringComparer.Ordinal);
    private readonly Dictionary<long, TransactionalIdState> _byProducerId = [];
    private readonly Dictionary<(string Topic, int Partition), PartitionTxnLog> _partitions = [];
    private readonly ConcurrentQueue<string> _errors = new();

    // Per group, the member and generation of the last Heartbeat or SyncGroup the mock answered without error.
    private readonly Dictionary<string, GroupMember> _acceptedMembers = new(StringComparer.Ordinal);
    private int _correlation;
    private int _fenced;
    private int _refused;
    private int _committed;
    private int _aborted;
    private int _offsetCommits;
    private int _fixedCrcs;

    internal TransactionFront()
    {
    }

    /// <summary>Producers fenced: InitProducerId requests for a known transactional id that bumped the old producer's epoch.</summary>
    public int FencedProducers => Volatile.Read(ref _fenced);

    /// <summary>Requests refused at the proxy because they carried a fenced (older) epoch.</summary>
    public int RefusedStaleRequests => Volatile.Read(ref _refused);

    /// <summary>Transactions committed (EndTxn commit answered without error).</summary>
    public int CommittedTransactions => Volatile.Read(ref _committed);

    /// <summary>Transactions aborted (EndTxn abort answered without error, or aborted by a fence).</summary>
    public int AbortedTransactions => Volatile.Read(ref _aborted);

    /// <summary>Groups' offsets the front committed for committed transactions: one per group and transaction, however many
    /// OffsetCommit requests it took.</summary>
    public int CommittedOffsetRequests => Volatile.Read(ref _offsetCommits);

    /// <summary>Control batches whose zero CRC the front replaced with their CRC-32C in Fetch answers.</summary>
    public int FixedControlBatchCrcs => Volatile.Read(ref _fixedCrcs);

    /// <summary>Failures of the front's own requests to the mock, or answers it could not read: empty when all is well.</summary>
    public IReadOnlyList<string> Errors => [.. _errors];

    /// <summary>The first offset of the earliest open transaction on a partition (what bounds its last stable offset), or null.</summary>
    public long? FirstOpenOffset(string topic, int partition)
    {
        lock (_gate)
        {
            return _partitions.TryGetValue((topic, partition), out var log) ? log.FirstOpenOffset : null;
        }
    }

    /// <summary>
    /// The transaction markers (COMMIT and ABORT control batches) of a partition that Fetch answers through the proxy have
    /// carried so far, by offset: read the partition (at either isolation level) first. Empty for a partition without
    /// transactional data.
    /// </summary>
    public IReadOnlyList<TransactionMarker> MarkersSeen(string topic, int partition)
    {
        lock (_gate)
        {
            return _partitions.TryGetValue((topic, partition), out var log) ? log.Markers : [];
        }
    }

    /// <summary>The producer id and epoch the front holds current for <paramref name="transactionalId"/>, or null if unknown.</summary>
    public (long ProducerId, short Epoch)? ProducerOf(string transactionalId)
    {
        lock (_gate)
        {
            return _ids.TryGetValue(transactionalId, out var s) && s.ProducerId >= 0 ? (s.ProducerId, s.Epoch) : null;
        }
    }

    /// <summary>Looks at one request a client sent (after SASL, if any) and says what to do with it.</summary>
    internal TxnVerdict OnRequest(ProxyBroker broker, short apiKey, short version, int correlationId, ReadOnlySpan<byte> frame)
    {
        switch (apiKey)
        {
            case TxnWire.ApiVersions:
                return new TxnVerdict("versions");
            case TxnWire.Fetch when version is >= 4 and <= MaxFetchVersion:
                return new TxnVerdict(FetchRewriter.ReadFetchRequest(frame, version));
            case TxnWire.ListOffsets:
                return new TxnVerdict(FetchRewriter.ReadListOffsetsLatestCommitted(frame, version));
            case TxnWire.Produce when version >= 3:
                return OnProduce(correlationId, version, frame);
            case TxnWire.OffsetFetch:
            {
                var groups = FetchRewriter.ReadOffsetFetchRequireStable(frame, version, out var requireStableAt);
                return new TxnVerdict(groups) { Forward = version == 7 ? FetchRewriter.OffsetFetchV7AsV6(frame, requireStableAt) : null };
            }

            case TxnWire.Heartbeat:
            case TxnWire.SyncGroup:
                return new TxnVerdict(TxnWire.ReadGroupMember(frame, apiKey, version));

            case TxnWire.InitProducerId:
            case TxnWire.AddPartitionsToTxn:
            case TxnWire.AddOffsetsToTxn:
            case TxnWire.EndTxn:
            case TxnWire.TxnOffsetCommit:
                var request = TxnWire.ReadCoordinatorRequest(frame, apiKey, version);
                return request is null ? default : OnCoordinatorRequest(broker, correlationId, request);
            default:
                return default;
        }
    }

    /// <summary>Looks at (and may rewrite) the broker's answer to a request whose verdict kept a state.</summary>
    internal async Task<byte[]> OnResponseAsync(ProxyBroker broker, short apiKey, short version, object state, byte[] frame, CancellationToken ct)
    {
        try
        {
            switch (apiKey)
            {
                case TxnWire.ApiVersions:
                    FetchRewriter.AdjustVersions(frame, version);
                    return frame;
                case TxnWire.Fetch:
                {
                    var (readCommitted, maxWaitMs) = ((bool, int))state;
                    var rewritten = RewriteFetch(frame, version, readCommitted, out var heldBack);
                    if (heldBack && maxWaitMs > 0)
                    {
                        // The mock answers at once (it has data); a broker holding the data back behind the last stable
                        // offset waits, so a read_committed consumer does not spin while a transaction is open.
                        await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(maxWaitMs, MaxHeldBackWaitMs)), ct).ConfigureAwait(false);
                    }

                    return rewritten;
                }

                case TxnWire.ListOffsets:
                    lock (_gate)
                    {
                        FetchRewriter.RewriteListOffsets(frame, version, (HashSet<(string, int)>)state,
                            (topic, partition, offset) => _partitions.TryGetValue((topic, partition), out var log) ? log.StableOffset(offset) : offset);
                    }

                    return frame;
                case TxnWire.Produce:
                    OnProduceAnswer(version, (List<TxnBatch>)state, frame);
                    return frame;
                case TxnWire.OffsetFetch:
                {
                    var groups = (HashSet<string>)state;
                    lock (_gate)
                    {
                        FetchRewriter.RewriteOffsetFetch(frame, version, groups.Count == 1 ? groups.First() : null, (group, topic, partition) =>
                            _ids.Values.Any(s => s.Ongoing && s.Offsets.TryGetValue(group, out var o) && o.ByPartition.ContainsKey((topic, partition))));
                    }

                    return frame;
                }

                case TxnWire.Heartbeat:
                case TxnWire.SyncGroup:
                    if (TxnWire.ReadGroupAnswerError(frame.AsSpan(4), apiKey, version) == 0)
                    {
                        var member = (GroupMember)state;
                        lock (_gate)
                        {
                            _acceptedMembers[member.GroupId] = member;
                        }
                    }

                    return frame;

                default:
                    await OnCoordinatorAnswerAsync(broker, (TxnRequest)state, frame, ct).ConfigureAwait(false);
                    return frame;
            }
        }
        catch (FormatException e)
        {
            _errors.Enqueue($"broker {broker.Id}: answer to api {apiKey} v{version}: {e.Message}");
            return frame;
        }
    }

    private TxnVerdict OnProduce(int correlationId, short version, ReadOnlySpan<byte> frame)
    {
        var batches = TxnWire.ReadProduce(frame, version, out _).Where(b => b.IsTransactional).ToList();
        if (batches.Count == 0)
        {
            return default;
        }

        lock (_gate)
        {
            var stale = batches.FirstOrDefault(b => _byProducerId.TryGetValue(b.ProducerId, out var s) && b.Epoch < s.Epoch);
            if (stale.Topic is not null)
            {
                _refused++;
                return new TxnVerdict(null, TxnWire.ProduceErrorResponse(correlationId, version, batches.Select(b => (b.Topic, b.Partition)), InvalidProducerEpoch,
                    $"Producer {stale.ProducerId} epoch {stale.Epoch} is fenced by epoch {_byProducerId[stale.ProducerId].Epoch}"));
            }
        }

        return new TxnVerdict(batches);
    }

    private void OnProduceAnswer(short version, List<TxnBatch> batches, byte[] frame)
    {
        var answers = ProduceCodec.ReadResponse(frame.AsSpan(4), version);
        lock (_gate)
        {
            foreach (var answer in answers.Where(a => a.ErrorCode == 0 && a.BaseOffset >= 0))
            {
                var offset = answer.BaseOffset;
                foreach (var b in batches.Where(b => b.Topic == answer.Topic && b.Partition == answer.Partition))
                {
                    Log(b.Topic, b.Partition).Append(b.ProducerId, offset, offset + b.LastOffsetDelta);
                    offset += b.LastOffsetDelta + 1;
                    if (_byProducerId.TryGetValue(b.ProducerId, out var s))
                    {
                        s.Ongoing = true;
                        s.Partitions.Add((b.Topic, b.Partition));
                    }
                }
            }
        }
    }

    private TxnVerdict OnCoordinatorRequest(ProxyBroker broker, int correlationId, TxnRequest request)
    {
        if (request.TransactionalId is not { } id)
        {
            return default; // an idempotent producer's InitProducerId
        }

        lock (_gate)
        {
            if (request.ApiKey == TxnWire.InitProducerId)
            {
                if (request.ProducerId < 0 && _ids.TryGetValue(id, out var known) && known.ProducerId >= 0)
                {
                    var (pid, epoch, ongoing) = (known.ProducerId, known.Epoch, known.Ongoing);

                    // As a coordinator bumps the epoch before it aborts, the old epoch is refused from this moment: a batch
                    // the old producer sends meanwhile must not land after the abort marker.
                    known.Epoch = (short)(epoch + 1);
                    return new TxnVerdict(null, AnswerLater: ct => FenceAsync(broker, correlationId, request, pid, epoch, ongoing, ct));
                }

                return new TxnVerdict(request);
            }

            if (_byProducerId.TryGetValue(request.ProducerId, out var current) && request.Epoch < current.Epoch)
            {
                _refused++;
                return new TxnVerdict(null, request.ApiKey switch
                {
                    TxnWire.AddPartitionsToTxn => TxnWire.PartitionErrorsResponse(correlationId, request.ApiKey, request.Version, request.Partitions, ProducerFenced),
                    TxnWire.TxnOffsetCommit => TxnWire.PartitionErrorsResponse(correlationId, request.ApiKey, request.Version,
                        request.Offsets.Select(o => (o.Topic, o.Partition)), ProducerFenced),
                    _ => TxnWire.ThrottleThenErrorResponse(correlationId, request.ApiKey, request.Version, ProducerFenced),
                });
            }
        }

        return new TxnVerdict(request);
    }

    private async Task OnCoordinatorAnswerAsync(ProxyBroker broker, TxnRequest request, byte[] frame, CancellationToken ct)
    {
        var id = request.TransactionalId!;
        switch (request.ApiKey)
        {
            case TxnWire.InitProducerId:
            {
                var (error, pid, epoch) = TxnWire.ReadInitProducerIdResponse(frame.AsSpan(4), request.Version);
                if (error == 0)
                {
                    lock (_gate)
                    {
                        SetProducer(id, pid, epoch);
                    }
                }

                return;
            }

            case TxnWire.AddPartitionsToTxn:
            {
                // Before v4 (all the front reads) the answer has no top-level error.
                var added = TxnWire.ReadAddPartitionsToTxnResponse(frame.AsSpan(4), request.Version, out _).Where(p => p.Error == 0).ToList();
                lock (_gate)
                {
                    var s = State(id);
                    foreach (var (_, topic, partition, _) in added)
                    {
                        s.Ongoing = true;
                        s.Partitions.Add((topic, partition));
                    }
                }

                return;
            }

            case TxnWire.AddOffsetsToTxn:
                if (TxnWire.ReadThrottleThenError(frame.AsSpan(4), request.ApiKey, request.Version).Error == 0)
                {
                    lock (_gate)
                    {
                        State(id).Ongoing = true;
                    }
                }

                return;

            case TxnWire.TxnOffsetCommit:
            {
                var accepted = TxnWire.ReadPartitionErrors(frame.AsSpan(4), request.ApiKey, request.Version).Where(p => p.Error == 0).Select(p => (p.Topic, p.Partition)).ToHashSet();
                lock (_gate)
                {
                    var s = State(id);
                    var group = request.GroupId ?? "";
                    if (!s.Offsets.TryGetValue(group, out var pending))
                    {
                        s.Offsets[group] = pending = new PendingOffsets(broker.Id, request.GenerationId, request.MemberId);
                    }

                    (pending.BrokerId, pending.GenerationId, pending.MemberId) = (broker.Id, request.GenerationId, request.MemberId);
                    foreach (var o in request.Offsets.Where(o => accepted.Contains((o.Topic, o.Partition))))
                    {
                        pending.ByPartition[(o.Topic, o.Partition)] = o;
                    }
                }

                return;
            }

            case TxnWire.EndTxn:
            {
                if (TxnWire.ReadThrottleThenError(frame.AsSpan(4), request.ApiKey, request.Version).Error != 0)
                {
                    return;
                }

                List<(string Group, PendingOffsets Offsets)> toCommit;
                lock (_gate)
                {
                    toCommit = EndTransaction(id, request.ProducerId, request.Commit);
                }

                foreach (var (group, offsets) in toCommit)
                {
                    await CommitOffsetsAsync(broker, group, offsets, ct).ConfigureAwait(false);
                }

                return;
            }
        }
    }

    /// <summary>Ends <paramref name="producerId"/>'s transaction on every partition; returns the offsets to commit (none on abort).</summary>
    private List<(string, PendingOffsets)> EndTransaction(string id, long producerId, bool commit)
    {
        var ended = false;
        foreach (var log in _partitions.Values)
        {
            ended |= log.End(producerId, commit);
        }

        var s = State(id);
        ended |= s.Ongoing;
        var offsets = commit ? s.Offsets.Select(kv => (kv.Key, kv.Value)).ToList() : [];
        s.Ongoing = false;
        s.Partitions.Clear();
        s.Offsets.Clear();
        if (ended)
        {
            _ = commit ? _committed++ : _aborted++;
        }

        return offsets;
    }

    /// <summary>
    /// A second producer initialises a transactional id the front knows: as a Kafka coordinator does, abort the old
    /// producer's ongoing transaction, bump the producer id's epoch and give the new producer that id and epoch.
    /// </summary>
    private async Task<byte[]> FenceAsync(ProxyBroker broker, int correlationId, TxnRequest request, long producerId, short epoch, bool ongoing, CancellationToken ct)
    {
        var id = request.TransactionalId!;
        if (ongoing)
        {
            // The abort goes where the client sent its InitProducerId: the mock answers NOT_COORDINATOR (or an error pushed
            // for EndTxn) as it would have answered the client, and then nothing is fenced and the client retries.
            short error;
            try
            {
                var answer = await TxnAdmin.RoundTripAsync(broker.UpstreamPort, TxnWire.EndTxnRequest(NextCorrelation(), id, producerId, epoch, commit: false), OwnRequestBound, ct).ConfigureAwait(false);
                error = TxnWire.ReadThrottleThenError(answer.AsSpan(4), TxnWire.EndTxn, 1).Error;
            }
            catch (Exception e) when (e is IOException or SocketException or FormatException or OperationCanceledException)
            {
                _errors.Enqueue($"fencing {id}: EndTxn(abort) of producer {producerId} epoch {epoch} failed: {e.Message}");
                error = 15; // COORDINATOR_NOT_AVAILABLE: the client retries
            }

            lock (_gate)
            {
                if (error != 0)
                {
                    SetProducer(id, producerId, epoch);
                    return TxnWire.InitProducerIdResponse(correlationId, request.Version, error, -1, -1);
                }

                _ = EndTransaction(id, producerId, commit: false);
            }
        }

        try
        {
            var answer = await TxnAdmin.RoundTripAsync(broker.UpstreamPort, TxnWire.InitProducerIdRequest(NextCorrelation(), id, request.TimeoutMs, producerId, epoch), OwnRequestBound, ct).ConfigureAwait(false);
            var (error, newPid, newEpoch) = TxnWire.ReadInitProducerIdResponse(answer.AsSpan(4), 3);
            lock (_gate)
            {
                if (error == 0)
                {
                    SetProducer(id, newPid, newEpoch);
                    _fenced++;
                }
                else
                {
                    SetProducer(id, producerId, epoch); // not bumped (e.g. an error pushed on the mock): the old epoch stands
                }
            }

            return TxnWire.InitProducerIdResponse(correlationId, request.Version, error, error == 0 ? newPid : -1, error == 0 ? newEpoch : (short)-1);
        }
        catch (Exception e) when (e is IOException or SocketException or FormatException or OperationCanceledException)
        {
            lock (_gate)
            {
                SetProducer(id, producerId, epoch);
            }

            _errors.Enqueue($"fencing {id}: InitProducerId bump of producer {producerId} epoch {epoch} failed: {e.Message}");
            return TxnWire.InitProducerIdResponse(correlationId, request.Version, 15 /* COORDINATOR_NOT_AVAILABLE: the client retries */, -1, -1);
        }
    }

    private async Task CommitOffsetsAsync(ProxyBroker broker, string group, PendingOffsets offsets, CancellationToken ct)
    {
        if (offsets.ByPartition.Count == 0)
        {
            return;
        }

        // The group id alone (generation -1, no member id: what a producer beside a Confluent consumer can send): a Kafka
        // coordinator stores such offsets without membership checks, but the mock's OffsetCommit insists on a current
        // member once the group has members. So they are committed as the member the mock last accepted in the group, and
        // committed again while a rebalance makes that one stale.
        var groupIdOnly = offsets.GenerationId < 0 && offsets.MemberId.Length == 0;
        var target = broker.Id == offsets.BrokerId ? broker : null;
        var deadline = DateTime.UtcNow + OwnRequestBound;
        try
        {
            while (true)
            {
                var (generation, member) = (offsets.GenerationId, offsets.MemberId);
                if (groupIdOnly)
                {
                    lock (_gate)
                    {
                        if (_acceptedMembers.TryGetValue(group, out var accepted))
                        {
                            (generation, member) = (accepted.GenerationId, accepted.MemberId);
                        }
                    }
                }

                // The mock's OffsetCommit does not check that it is the group coordinator, only that one exists: the broker
                // that took the TxnOffsetCommit (the group coordinator) is used when it is this one, else this broker.
                var request = TxnWire.OffsetCommitRequest(NextCorrelation(), group, generation, member, offsets.ByPartition.Values);
                var answer = await TxnAdmin.RoundTripAsync((target ?? broker).UpstreamPort, request, OwnRequestBound, ct).ConfigureAwait(false);
                var errors = TxnWire.ReadPartitionErrors(answer.AsSpan(4), TxnWire.OffsetCommit, 2, hasThrottle: false).Where(e => e.Error != 0).ToList();
                if (groupIdOnly && errors.Count > 0 && errors.All(e => e.Error is IllegalGeneration or UnknownMemberId or RebalanceInProgress) && DateTime.UtcNow < deadline)
                {
                    await Task.Delay(MemberRetryPause, ct).ConfigureAwait(false);
                    continue;
                }

                Interlocked.Increment(ref _offsetCommits);
                foreach (var (topic, partition, error) in errors)
                {
                    _errors.Enqueue($"OffsetCommit of group {group} (generation {generation}, member '{member}') for {topic}[{partition}] answered error {error}");
                }

                return;
            }
        }
        catch (Exception e) when (e is IOException or SocketException or FormatException or OperationCanceledException)
        {
            _errors.Enqueue($"OffsetCommit of group {group} failed: {e.Message}");
        }
    }

    private byte[] RewriteFetch(byte[] frame, short version, bool readCommitted, out bool heldBack)
    {
        lock (_gate)
        {
            var rewritten = FetchRewriter.RewriteFetch(frame, version, readCommitted, (topic, partition, highWatermark, batches) =>
            {
                if (!_partitions.TryGetValue((topic, partition), out var log))
                {
                    return new FetchFix(highWatermark, null);
                }

                foreach (var marker in batches.Where(b => b.IsControl))
                {
                    if (marker.ControlType is 0 or 1)
                    {
                        log.SeeMarker(marker.ProducerId, marker.BaseOffset, commit: marker.ControlType == 1);
                    }
                    else
                    {
                        _errors.Enqueue($"{topic}[{partition}]: the control batch at offset {marker.BaseOffset} has no COMMIT or ABORT record (type {marker.ControlType})");
                    }
                }

                var aborted = batches.Count == 0 ? null : log.AbortedOverlapping(batches[0].BaseOffset, batches[^1].LastOffset);
                return new FetchFix(log.StableOffset(highWatermark), aborted);
            }, out var fixedCrcs, out heldBack);
            _fixedCrcs += fixedCrcs;
            return rewritten;
        }
    }

    private void SetProducer(string id, long producerId, short epoch)
    {
        var s = State(id);
        if (s.ProducerId >= 0 && s.ProducerId != producerId)
        {
            _byProducerId.Remove(s.ProducerId);
        }

        s.ProducerId = producerId;
        s.Epoch = epoch;
        _byProducerId[producerId] = s;
    }

    private TransactionalIdState State(string id)
    {
        if (!_ids.TryGetValue(id, out var s))
        {
            _ids[id] = s = new TransactionalIdState(id);
        }

        return s;
    }

    private PartitionTxnLog Log(string topic, int partition)
    {
        if (!_partitions.TryGetValue((topic, partition), out var log))
        {
            _partitions[(topic, partition)] = log = new PartitionTxnLog();
        }

        return log;
    }

    private int NextCorrelation() => Interlocked.Increment(ref _correlation);
}
