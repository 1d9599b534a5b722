namespace Samsa.Testing.Proxy;

/// <summary>
/// Checks that a transactional producer follows the transaction protocol's rules, from the requests and answers
/// that pass through a <see cref="KafkaProxy"/>, and tells what a real broker would have made of each transaction.
/// librdkafka's mock cluster accepts a batch to a partition never added to the transaction, a batch without the
/// transactional bit, and batches after EndTxn; it neither hides aborted records from read_committed consumers
/// nor stores the offsets of TxnOffsetCommit (see Samsa.Testing's README, "Transactions on the mock"). The oracle does both jobs itself.
/// </summary>
/// <remarks>
/// <para><b>Rules</b>, per transactional id (a batch is judged when its Produce request is read, that is when the
/// producer sent it):</para>
/// <list type="bullet">
/// <item>every batch of a Produce request that carries a transactional id has the transactional attribute bit
/// (0x10); every batch of a producer id that InitProducerId gave to a transactional id comes in a Produce request
/// carrying that transactional id;</item>
/// <item>with the classic protocol, a partition is added (AddPartitionsToTxn answered without error for it) in
/// the current transaction before its first batch; with KIP-890's transactions version 2 (Produce v12 and
/// above), Produce adds the partition itself, so the rule does not apply;</item>
/// <item>no batch is sent after the transaction's EndTxn request, commit or abort, was sent; with version 2 a
/// batch carrying an epoch older than the one EndTxn v5 answered is such a late batch;</item>
/// <item>with the classic protocol, TxnOffsetCommit for a group follows an AddOffsetsToTxn for that group
/// answered without error in the same transaction.</item>
/// </list>
/// <para><b>What a real broker would do:</b> a transaction is committed or aborted when its EndTxn is answered
/// without error; an InitProducerId answered for the same transactional id while a transaction is still open
/// aborts it (the coordinator does so when a producer restarts or fences another). The offsets of a
/// TxnOffsetCommit answered without error become the group's committed offsets when their transaction commits
/// (<see cref="CommittedOffsets"/>); the records a Produce answer placed at some offsets share their
/// transaction's fate (<see cref="OutcomeOf"/>).</para>
/// <para>Thread-safe: the proxy feeds it from every connection.</para>
/// </remarks>
public sealed class TransactionOracle
{
    private const short FirstImplicitAddProduceVersion = 12; // KIP-890 part 2 (transactions version 2)

    private readonly Lock _gate = new();
    private readonly Dictionary<string, ProducerEntry> _producers = new(StringComparer.Ordinal);
    private readonly Dictionary<long, string> _transactionalIdOf = [];
    private readonly Dictionary<(int Connection, int CorrelationId), Pending> _pending = [];
    private readonly List<Transaction> _transactions = [];
    private readonly List<string> _violations = [];
    private readonly Dictionary<TopicPartition, List<StoredRange>> _stored = [];
    private readonly Dictionary<string, Dictionary<TopicPartition, long>> _committedOffsets = new(StringComparer.Ordinal);

    /// <summary>
    /// Observes one request as the client sent it. <paramref name="request"/> is the frame without its 4-byte size
    /// prefix, starting at the request header. Requests of other APIs are ignored (cheaply).
    /// </summary>
    /// <param name="connectionId">Identifies the connection, so that the answer can be matched by correlation id.</param>
    /// <param name="request">The request header and body.</param>
    /// <exception cref="FormatException">The request is truncated or malformed.</exception>
    public void OnRequest(int connectionId, ReadOnlySpan<byte> request)
    {
        if (request.Length < 4)
        {
            return;
        }

        var header = new WireReader(request);
        var apiKey = header.ReadInt16();
        if (apiKey is not (TxnWire.Produce or TxnWire.InitProducerId or TxnWire.AddPartitionsToTxn or TxnWire.AddOffsetsToTxn
            or TxnWire.EndTxn or TxnWire.TxnOffsetCommit))
        {
            return;
        }

        var version = header.ReadInt16();
        var correlationId = header.ReadInt32();
        lock (_gate)
        {
            Pending? pending = apiKey switch
            {
                TxnWire.Produce => ProduceRequest(request, version),
                TxnWire.AddPartitionsToTxn => AddPartitionsRequest(TxnWire.ReadAddPartitionsToTxn(request, version)),
                _ => CoordinatorRequest(TxnWire.ReadCoordinatorRequest(request, apiKey, version)),
            };
            if (pending is not null)
            {
                _pending[(connectionId, correlationId)] = pending with { ApiKey = apiKey, Version = version };
            }
        }
    }

    /// <summary>
    /// Observes the answer to a request given to <see cref="OnRequest"/> on the same connection.
    /// <paramref name="response"/> is the frame without its size prefix, starting at the correlation id.
    /// Answers to requests the oracle ignored are ignored.
    /// </summary>
    /// <exception cref="FormatException">The answer is truncated or malformed.</exception>
    public void OnResponse(int connectionId, ReadOnlySpan<byte> response)
    {
        if (response.Length < 4)
        {
            return;
        }

        var correlationId = (response[0] << 24) | (response[1] << 16) | (response[2] << 8) | response[3];
        lock (_gate)
        {
            if (!_pending.Remove((connectionId, correlationId), out var pending))
            {
                return;
            }

            switch (pending.ApiKey)
            {
                case TxnWire.Produce:
                    ProduceResponse(pending, response);
                    break;
                case TxnWire.InitProducerId:
                    InitProducerIdResponse(pending, response);
                    break;
                case TxnWire.AddPartitionsToTxn:
                    AddPartitionsResponse(pending, response);
                    break;
                case TxnWire.AddOffsetsToTxn:
                    AddOffsetsResponse(pending, response);
                    break;
                case TxnWire.EndTxn:
                    EndTxnResponse(pending, response);
                    break;
                default:
                    TxnOffsetCommitResponse(pending, response);
                    break;
            }
        }
    }

    /// <summary>Forgets the requests of a connection that closed before they were answered.</summary>
    public void OnConnectionClosed(int connectionId)
    {
        lock (_gate)
        {
            foreach (var key in _pending.Keys.Where(k => k.Connection == connectionId).ToList())
            {
                _pending.Remove(key);
            }
        }
    }

    /// <summary>The producer id and epoch <paramref name="transactionalId"/> runs as (from the last InitProducerId or EndTxn
    /// v5 answer), or false when none was seen.</summary>
    public bool TryGetProducerId(string transactionalId, out long producerId, out short epoch)
    {
        ArgumentNullException.ThrowIfNull(transactionalId);
        lock (_gate)
        {
            if (_producers.TryGetValue(transactionalId, out var producer) && producer.ProducerId >= 0)
            {
                (producerId, epoch) = (producer.ProducerId, producer.Epoch);
                return true;
            }

            (producerId, epoch) = (-1, -1);
            return false;
        }
    }

    /// <summary>The rule violations seen so far, each naming the transactional id and transaction number.</summary>
    public IReadOnlyList<string> Violations
    {
        get
        {
            lock (_gate)
            {
                return [.. _violations];
            }
        }
    }

    /// <summary>A snapshot of every transaction seen, with counts.</summary>
    public TransactionReport Report()
    {
        lock (_gate)
        {
            return new TransactionReport([.. _transactions.Select(t => t.Summary())], [.. _violations]);
        }
    }

    /// <summary>Throws <see cref="TransactionViolationException"/>, with a readable report, when a rule was broken.</summary>
    public void Verify()
    {
        var report = Report();
        if (report.Violations.Count == 0)
        {
            return;
        }

        throw new TransactionViolationException(
            $"The transactional producer broke {report.Violations.Count} rule(s) ({report}):" + Environment.NewLine +
            string.Join(Environment.NewLine, report.Violations.Take(30)) +
            (report.Violations.Count > 30 ? $"{Environment.NewLine}... and {report.Violations.Count - 30} more." : "") +
            Environment.NewLine + "Transactions:" + Environment.NewLine +
            string.Join(Environment.NewLine, report.Transactions.TakeLast(20).Select(t => "  " + t)));
    }

    /// <summary>
    /// What a real broker would have made of the record the test broker stored at <paramref name="offset"/>:
    /// <see cref="TransactionOutcome.Committed"/> or <see cref="TransactionOutcome.Aborted"/> (read_committed
    /// consumers see only the former), <see cref="TransactionOutcome.Open"/> (a read_committed consumer would wait
    /// for it), <see cref="TransactionOutcome.NotTransactional"/> when no transactional Produce answer placed
    /// anything there (e.g. a plain producer's record).
    /// </summary>
    public TransactionOutcome OutcomeOf(string topic, int partition, long offset)
    {
        lock (_gate)
        {
            if (_stored.TryGetValue(new TopicPartition(topic, partition), out var ranges))
            {
                foreach (var range in ranges)
                {
                    if (offset >= range.BaseOffset && offset < range.BaseOffset + range.Count)
                    {
                        return range.Transaction.Outcome;
                    }
                }
            }

            return TransactionOutcome.NotTransactional;
        }
    }

    /// <summary>
    /// The offsets a real group coordinator would hold for <paramref name="groupId"/>: those of every TxnOffsetCommit
    /// answered without error whose transaction committed, the latest per partition. Empty for an unknown group.
    /// </summary>
    public IReadOnlyDictionary<TopicPartition, long> CommittedOffsets(string groupId)
    {
        ArgumentNullException.ThrowIfNull(groupId);
        lock (_gate)
        {
            return _committedOffsets.TryGetValue(groupId, out var offsets) ? new Dictionary<TopicPartition, long>(offsets) : [];
        }
    }

    // ---- requests ----

    private Pending? ProduceRequest(ReadOnlySpan<byte> request, short version)
    {
        if (version < ProduceCodec.FirstBatchVersion)
        {
            return null;
        }

        // Cheap exit for the common case: nothing transactional has been seen.
        if (_producers.Count == 0 && ProduceCodec.ReadTransactionalId(request, version) is null)
        {
            return null;
        }

        var batches = ProduceCodec.ReadRequest(request, version, out var transactionalId);
        var owners = new List<Transaction?>(batches.Count);
        foreach (var batch in batches)
        {
            owners.Add(JudgeBatch(batch, transactionalId, version));
        }

        return owners.Any(o => o is not null) ? new Pending { Batches = batches, Owners = owners } : null;
    }

    /// <summary>Applies the batch rules; returns the transaction the batch belongs to (null: not transactional).</summary>
    private Transaction? JudgeBatch(ProducedBatch batch, string? transactionalId, short version)
    {
        if (transactionalId is null)
        {
            if (batch.ProducerId >= 0 && _transactionalIdOf.TryGetValue(batch.ProducerId, out var owner))
            {
                Violation(null, $"{batch}: producer id {batch.ProducerId} belongs to transactional id '{owner}', but the Produce request carries no transactional id.");
            }

            return null;
        }

        var producer = Producer(transactionalId);
        if (!batch.IsTransactional)
        {
            Violation(producer.Current, $"{batch}: the Produce request carries transactional id '{transactionalId}' but the batch's transactional bit (0x10) is not set (attributes 0x{batch.Attributes:X2}).");
        }

        if (producer.IsZombie(batch.ProducerId, batch.ProducerEpoch))
        {
            // A fenced producer that does not know it yet: a real broker refuses its batches (INVALID_PRODUCER_EPOCH or
            // PRODUCER_FENCED), so nothing of it becomes visible; the mock may store them. Not a rule the producer broke.
            var zombie = producer.ZombieTransaction(this, batch.ProducerId, batch.ProducerEpoch);
            zombie.Batches++;
            zombie.Records += batch.RecordCount;
            zombie.Partitions.Add(batch.TopicPartition);
            return zombie;
        }

        var implicitAdd = version >= FirstImplicitAddProduceVersion;
        var current = producer.Current;
        if (current is { EndRequested: true })
        {
            Violation(current, $"{batch}: sent after EndTxn({(current.CommitRequested ? "commit" : "abort")}) of the transaction was sent.");
            current.LateBatches++;
            return current;
        }

        if (implicitAdd && producer.LastEnded is { } ended && batch.ProducerEpoch >= 0 && batch.ProducerEpoch < producer.Epoch &&
            batch.ProducerId == producer.ProducerId)
        {
            Violation(ended, $"{batch}: epoch {batch.ProducerEpoch} is older than the epoch {producer.Epoch} EndTxn answered, so it belongs to the ended transaction #{ended.Number}.");
            ended.LateBatches++;
            return ended;
        }

        if (current is null)
        {
            if (!implicitAdd)
            {
                var after = producer.LastEnded is { } last ? $" (transaction #{last.Number} ended with EndTxn({(last.CommitRequested ? "commit" : "abort")}))" : "";
                Violation(null, $"{batch}: transactional id '{transactionalId}' has no open transaction{after}: its partition was not added with AddPartitionsToTxn.");
            }

            current = producer.Begin(this, batch.ProducerId, batch.ProducerEpoch);
            current.Added.Add(batch.TopicPartition); // reported above, once
        }

        if (implicitAdd)
        {
            current.UsesVersion2 = true;
            current.Added.Add(batch.TopicPartition);
        }
        else if (!current.Added.Contains(batch.TopicPartition))
        {
            Violation(current, $"{batch}: partition {batch.TopicPartition} was not added to the transaction (no AddPartitionsToTxn answered without error for it) before its first batch.");
            current.Added.Add(batch.TopicPartition); // report once per partition
        }

        current.Batches++;
        current.Records += batch.RecordCount;
        current.Partitions.Add(batch.TopicPartition);
        return current;
    }

    /// <summary>Applies InitProducerId, AddOffsetsToTxn, EndTxn or TxnOffsetCommit (null: none of them).</summary>
    private Pending? CoordinatorRequest(TxnRequest? request) => request?.ApiKey switch
    {
        TxnWire.InitProducerId => new Pending { TransactionalId = request.TransactionalId },
        TxnWire.AddOffsetsToTxn => AddOffsetsRequest(request),
        TxnWire.EndTxn => EndTxnRequest(request),
        TxnWire.TxnOffsetCommit => TxnOffsetCommitRequest(request),
        _ => null,
    };

    private Pending AddPartitionsRequest(List<TxnRequest> transactions)
    {
        var pending = new Pending();
        foreach (var request in transactions)
        {
            if (request.VerifyOnly)
            {
                continue; // a broker's check, not a client's add
            }

            var (id, pid, epoch) = (request.TransactionalId ?? "", request.ProducerId, request.Epoch);
            List<TopicPartition> partitions = [.. request.Partitions.Select(p => new TopicPartition(p.Topic, p.Partition))];
            var producer = Producer(id);
            if (producer.IsZombie(pid, epoch))
            {
                continue; // a fenced producer's request: a real coordinator refuses it
            }

            if (producer.Current is { EndRequested: true } ending)
            {
                Violation(ending, $"AddPartitionsToTxn for {string.Join(", ", partitions)} sent after EndTxn of the transaction was sent.");
            }

            var txn = producer.Current ?? producer.Begin(this, pid, epoch);
            pending.Adds.Add((id, txn, partitions));
        }

        return pending;
    }

    private Pending? AddOffsetsRequest(TxnRequest request)
    {
        var (id, pid, epoch, group) = (request.TransactionalId ?? "", request.ProducerId, request.Epoch, request.GroupId ?? "");
        var producer = Producer(id);
        if (producer.IsZombie(pid, epoch))
        {
            return null;
        }

        var txn = producer.Current ?? producer.Begin(this, pid, epoch);
        return new Pending { TransactionalId = id, Transaction = txn, GroupId = group };
    }

    private Pending? EndTxnRequest(TxnRequest request)
    {
        var (id, pid, epoch, committed) = (request.TransactionalId ?? "", request.ProducerId, request.Epoch, request.Commit);
        var producer = Producer(id);
        if (producer.IsZombie(pid, epoch))
        {
            // A fenced producer's EndTxn: a real coordinator refuses it (the mock may not), so it changes nothing.
            producer.ZombieTransaction(this, pid, epoch).EndRequested = true;
            return null;
        }

        if (producer.Current is null && producer.LastEnded is { EndedByInit: false } last && last.CommitRequested == committed && last.ProducerId == pid)
        {
            // The same EndTxn again, with nothing begun since: a retry after a lost answer (the coordinator answers it
            // as it did the first time), not a new, empty transaction.
            last.EndRetries++;
            return new Pending { TransactionalId = id, Transaction = last };
        }

        var txn = producer.Current ?? producer.Begin(this, pid, epoch);
        if (txn.EndRequested && txn.CommitRequested != committed)
        {
            Violation(txn, $"EndTxn({(committed ? "commit" : "abort")}) sent after EndTxn({(txn.CommitRequested ? "commit" : "abort")}) of the same transaction.");
        }

        txn.EndRequested = true;
        txn.CommitRequested = committed;
        txn.Outcome = TransactionOutcome.Ending;
        txn.UsesVersion2 |= request.Version >= 5;
        return new Pending { TransactionalId = id, Transaction = txn };
    }

    private Pending? TxnOffsetCommitRequest(TxnRequest request)
    {
        var (id, group, pid, epoch, version) = (request.TransactionalId ?? "", request.GroupId ?? "", request.ProducerId, request.Epoch, request.Version);
        var producer = Producer(id);
        if (producer.IsZombie(pid, epoch))
        {
            return null;
        }

        if (producer.Current is { EndRequested: true } ending)
        {
            Violation(ending, $"TxnOffsetCommit for group '{group}' sent after EndTxn of the transaction was sent.");
        }

        var txn = producer.Current ?? producer.Begin(this, pid, epoch);
        if (version >= 5)
        {
            txn.UsesVersion2 = true;
        }
        else if (!txn.GroupsAdded.Contains(group))
        {
            Violation(txn, $"TxnOffsetCommit v{version} for group '{group}' sent before AddOffsetsToTxn for that group was answered without error in this transaction.");
        }

        return new Pending
        {
            TransactionalId = id,
            Transaction = txn,
            GroupId = group,
            Offsets = [.. request.Offsets.Select(o => (new TopicPartition(o.Topic, o.Partition), o.Offset))],
        };
    }

    // ---- answers ----

    private void ProduceResponse(Pending pending, ReadOnlySpan<byte> response)
    {
        var answers = ProduceCodec.ReadResponse(response, pending.Version);
        for (var i = 0; i < pending.Batches.Count; i++)
        {
            var batch = pending.Batches[i];
            if (pending.Owners[i] is not { } txn)
            {
                continue;
            }

            var answer = answers.FindIndex(a => a.Topic == batch.Topic && a.Partition == batch.Partition);
            if (answer < 0 || answers[answer].ErrorCode != 0 || answers[answer].BaseOffset < 0)
            {
                continue;
            }

            if (!_stored.TryGetValue(batch.TopicPartition, out var ranges))
            {
                _stored[batch.TopicPartition] = ranges = [];
            }

            ranges.Add(new StoredRange(answers[answer].BaseOffset, batch.LastOffsetDelta + 1, txn));
            txn.StoredBatches++;
        }
    }

    private void InitProducerIdResponse(Pending pending, ReadOnlySpan<byte> response)
    {
        var (error, pid, epoch) = TxnWire.ReadInitProducerIdResponse(response, pending.Version);
        if (error != 0 || pending.TransactionalId is not { } id)
        {
            return;
        }

        OnProducerIdChanged(id, pid, epoch);
    }

    /// <summary>
    /// Tells the oracle that <paramref name="transactionalId"/> now runs as <paramref name="producerId"/> /
    /// <paramref name="epoch"/>, as when an InitProducerId it did not see (e.g. <see cref="KafkaProxy.FenceAsync"/>'s)
    /// was answered: the open transaction is aborted, and older producer ids and epochs of the id are fenced.
    /// </summary>
    public void OnProducerIdChanged(string transactionalId, long producerId, short epoch)
    {
        ArgumentNullException.ThrowIfNull(transactionalId);
        lock (_gate)
        {
            var producer = Producer(transactionalId);
            if (producer.Current is { } open)
            {
                // The coordinator aborts an open transaction when its transactional id is initialised again. An EndTxn
                // sent but never answered is in doubt; a real coordinator that received it would have completed it.
                open.Outcome = open.EndRequested ? TransactionOutcome.InDoubt : TransactionOutcome.Aborted;
                open.EndedByInit = true;
                producer.LastEnded = open;
                producer.Current = null;
            }

            producer.Fence(producerId, epoch);
            _transactionalIdOf[producerId] = transactionalId;
        }
    }

    private static void AddPartitionsResponse(Pending pending, ReadOnlySpan<byte> response)
    {
        var results = TxnWire.ReadAddPartitionsToTxnResponse(response, pending.Version, out var topLevelError);
        foreach (var (id, txn, partitions) in pending.Adds)
        {
            foreach (var tp in partitions)
            {
                var error = topLevelError;
                if (error == 0)
                {
                    var match = results.FindIndex(x => (x.TransactionalId is null || x.TransactionalId == id) && x.Topic == tp.Topic && x.Partition == tp.Partition);
                    error = match < 0 ? (short)-1 : results[match].Error;
                }

                if (error == 0)
                {
                    txn.Added.Add(tp);
                }
            }
        }
    }

    private static void AddOffsetsResponse(Pending pending, ReadOnlySpan<byte> response)
    {
        var (error, _, _) = TxnWire.ReadThrottleThenError(response, TxnWire.AddOffsetsToTxn, pending.Version);
        if (error == 0 && pending.Transaction is { } txn && pending.GroupId is { } group)
        {
            txn.GroupsAdded.Add(group);
        }
    }

    private void EndTxnResponse(Pending pending, ReadOnlySpan<byte> response)
    {
        var (error, pid, epoch) = TxnWire.ReadThrottleThenError(response, TxnWire.EndTxn, pending.Version);
        if (pending.Transaction is not { } txn || pending.TransactionalId is not { } id)
        {
            return;
        }

        if (error != 0)
        {
            txn.EndErrors.Add(error);
            return; // still ending: the producer retries, or gives up and is disposed
        }

        var producer = Producer(id);
        txn.Outcome = txn.CommitRequested ? TransactionOutcome.Committed : TransactionOutcome.Aborted;
        if (txn.CommitRequested)
        {
            foreach (var (group, offsets) in txn.PendingOffsets)
            {
                if (!_committedOffsets.TryGetValue(group, out var committed))
                {
                    _committedOffsets[group] = committed = [];
                }

                foreach (var (tp, offset) in offsets)
                {
                    committed[tp] = offset;
                }
            }
        }

        if (ReferenceEquals(producer.Current, txn))
        {
            producer.Current = null;
            producer.LastEnded = txn;
        }

        if (pending.Version >= 5 && pid >= 0)
        {
            // KIP-890: EndTxn v5 answers the producer id and the epoch the next transaction uses.
            txn.NextEpoch = epoch;
            producer.ProducerId = pid;
            producer.Epoch = epoch;
            _transactionalIdOf[pid] = id;
        }
    }

    private static void TxnOffsetCommitResponse(Pending pending, ReadOnlySpan<byte> response)
    {
        var results = TxnWire.ReadPartitionErrors(response, TxnWire.TxnOffsetCommit, pending.Version);
        if (pending.Transaction is not { } txn || pending.GroupId is not { } group)
        {
            return;
        }

        if (!txn.PendingOffsets.TryGetValue(group, out var offsets))
        {
            txn.PendingOffsets[group] = offsets = [];
        }

        foreach (var (tp, offset) in pending.Offsets)
        {
            var match = results.FindIndex(x => x.Topic == tp.Topic && x.Partition == tp.Partition);
            if (match >= 0 && results[match].Error == 0)
            {
                offsets[tp] = offset;
            }
        }
    }

    // ---- state ----

    private ProducerEntry Producer(string transactionalId)
    {
        if (!_producers.TryGetValue(transactionalId, out var producer))
        {
            _producers[transactionalId] = producer = new ProducerEntry(transactionalId);
        }

        return producer;
    }

    private void Violation(Transaction? txn, string message) =>
        _violations.Add(txn is null ? message : $"'{txn.TransactionalId}' transaction #{txn.Number}: {message}");

    private sealed class ProducerEntry(string transactionalId)
    {
        public string TransactionalId { get; } = transactionalId;

        public long ProducerId { get; set; } = -1;

        public short Epoch { get; set; } = -1;

        public Transaction? Current { get; set; }

        public Transaction? LastEnded { get; set; }

        public int Count { get; set; }

        /// <summary>Producer ids and the highest epoch of each that a later InitProducerId fenced.</summary>
        private Dictionary<long, short> Fenced { get; } = [];

        private Dictionary<(long, short), Transaction> Zombies { get; } = [];

        /// <summary>A new producer id/epoch from InitProducerId: the previous one, and every older epoch, is fenced.</summary>
        public void Fence(long producerId, short epoch)
        {
            if (ProducerId >= 0 && (ProducerId != producerId || Epoch < epoch))
            {
                var fencedEpoch = ProducerId == producerId ? (short)(epoch - 1) : Epoch;
                Fenced[ProducerId] = Fenced.TryGetValue(ProducerId, out var e) ? Math.Max(e, fencedEpoch) : fencedEpoch;
            }

            ProducerId = producerId;
            Epoch = epoch;
        }

        /// <summary>True for a producer id and epoch a later InitProducerId fenced.</summary>
        public bool IsZombie(long producerId, short epoch) =>
            producerId >= 0 && Fenced.TryGetValue(producerId, out var fencedUpTo) && epoch <= fencedUpTo && (producerId != ProducerId || epoch < Epoch);

        /// <summary>Where a fenced producer's batches are counted: a transaction that never becomes visible.</summary>
        public Transaction ZombieTransaction(TransactionOracle oracle, long producerId, short epoch)
        {
            if (!Zombies.TryGetValue((producerId, epoch), out var txn))
            {
                txn = new Transaction(TransactionalId, 0, producerId, epoch) { Outcome = TransactionOutcome.Fenced };
                Zombies[(producerId, epoch)] = txn;
                oracle._transactions.Add(txn);
            }

            return txn;
        }

        public Transaction Begin(TransactionOracle oracle, long producerId, short epoch)
        {
            var txn = new Transaction(TransactionalId, ++Count, producerId >= 0 ? producerId : ProducerId, epoch >= 0 ? epoch : Epoch);
            Current = txn;
            oracle._transactions.Add(txn);
            return txn;
        }
    }

    private sealed class Transaction(string transactionalId, int number, long producerId, short epoch)
    {
        public string TransactionalId { get; } = transactionalId;

        public int Number { get; } = number;

        public long ProducerId { get; } = producerId;

        public short Epoch { get; } = epoch;

        public HashSet<TopicPartition> Added { get; } = [];

        public HashSet<TopicPartition> Partitions { get; } = [];

        public HashSet<string> GroupsAdded { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, Dictionary<TopicPartition, long>> PendingOffsets { get; } = new(StringComparer.Ordinal);

        public List<short> EndErrors { get; } = [];

        public int Batches { get; set; }

        public int Records { get; set; }

        public int StoredBatches { get; set; }

        public int LateBatches { get; set; }

        public int EndRetries { get; set; }

        public bool EndRequested { get; set; }

        public bool CommitRequested { get; set; }

        public bool EndedByInit { get; set; }

        public bool UsesVersion2 { get; set; }

        public short NextEpoch { get; set; } = -1;

        public TransactionOutcome Outcome { get; set; } = TransactionOutcome.Open;

        public TransactionSummary Summary() => new(TransactionalId, Number, ProducerId, Epoch, Outcome, Batches, Records,
            [.. Partitions.OrderBy(p => p.Topic, StringComparer.Ordinal).ThenBy(p => p.Partition)],
            PendingOffsets.Values.Sum(o => o.Count))
        {
            StoredBatches = StoredBatches,
            LateBatches = LateBatches,
            AbortedByInitProducerId = EndedByInit,
            UsesTransactionsVersion2 = UsesVersion2,
            NextEpoch = NextEpoch,
            EndTxnErrors = [.. EndErrors],
        };
    }

    private sealed record StoredRange(long BaseOffset, int Count, Transaction Transaction);

    private sealed record Pending
    {
        public short ApiKey { get; init; }

        public short Version { get; init; }

        public string? TransactionalId { get; init; }

        public Transaction? Transaction { get; init; }

        public string? GroupId { get; init; }

        public List<ProducedBatch> Batches { get; init; } = [];

        public List<Transaction?> Owners { get; init; } = [];

        public List<(string Id, Transaction Txn, List<TopicPartition> Partitions)> Adds { get; } = [];

        public List<(TopicPartition Partition, long Offset)> Offsets { get; init; } = [];
    }
}

/// <summary>What became (or would become, on a real broker) of a transaction and of its records.</summary>
public enum TransactionOutcome
{
    /// <summary>Not ended yet: a read_committed consumer would wait at its first record.</summary>
    Open,

    /// <summary>EndTxn was sent, its answer has not come (or came with an error).</summary>
    Ending,

    /// <summary>EndTxn(commit) was answered without error: visible to read_committed consumers.</summary>
    Committed,

    /// <summary>EndTxn(abort) was answered without error, or the coordinator aborted it when the transactional id
    /// was initialised again: hidden from read_committed consumers.</summary>
    Aborted,

    /// <summary>EndTxn was sent but never answered, and the transactional id was initialised again: a real
    /// coordinator that received the EndTxn completed it as asked, one that did not aborted it.</summary>
    InDoubt,

    /// <summary>No transactional Produce answer placed a record at that offset.</summary>
    NotTransactional,

    /// <summary>Sent by a producer that a later InitProducerId for its transactional id had fenced: a real broker refuses
    /// it, so it never becomes visible (the mock may store it). Such a "transaction" has number 0 in the report.</summary>
    Fenced,
}

/// <summary>One transaction as the <see cref="TransactionOracle"/> saw it.</summary>
/// <param name="TransactionalId">Its transactional id.</param>
/// <param name="Number">1 for the id's first transaction, then 2, ...</param>
/// <param name="ProducerId">The producer id it ran under.</param>
/// <param name="ProducerEpoch">The epoch it began with.</param>
/// <param name="Outcome">How it ended.</param>
/// <param name="Batches">Batches sent in it.</param>
/// <param name="Records">Records in those batches.</param>
/// <param name="Partitions">Partitions that got data.</param>
/// <param name="Offsets">Partitions whose consumer offsets it carried (TxnOffsetCommit answered without error).</param>
public sealed record TransactionSummary(
    string TransactionalId,
    int Number,
    long ProducerId,
    short ProducerEpoch,
    TransactionOutcome Outcome,
    int Batches,
    int Records,
    IReadOnlyList<TopicPartition> Partitions,
    int Offsets)
{
    /// <summary>Batches the test broker answered without error (it stored them).</summary>
    public int StoredBatches { get; init; }

    /// <summary>Batches sent after the transaction's EndTxn (each is also a violation).</summary>
    public int LateBatches { get; init; }

    /// <summary>It was still open when InitProducerId was answered for its transactional id, so the coordinator aborted it.</summary>
    public bool AbortedByInitProducerId { get; init; }

    /// <summary>KIP-890 transactions version 2 was used (Produce v12+, TxnOffsetCommit v5+ or EndTxn v5+).</summary>
    public bool UsesTransactionsVersion2 { get; init; }

    /// <summary>The epoch an EndTxn v5+ answer gave for the next transaction, or -1.</summary>
    public short NextEpoch { get; init; } = -1;

    /// <summary>Error codes of EndTxn answers before the one that ended it.</summary>
    public IReadOnlyList<short> EndTxnErrors { get; init; } = [];

    /// <inheritdoc/>
    public override string ToString() =>
        $"'{TransactionalId}' #{Number} pid {ProducerId}/{ProducerEpoch}: {Outcome}{(AbortedByInitProducerId ? " (by InitProducerId)" : "")}, " +
        $"{Batches} batches ({StoredBatches} stored{(LateBatches > 0 ? $", {LateBatches} late" : "")}), {Records} records, " +
        $"partitions [{string.Join(", ", Partitions)}], offsets {Offsets}{(UsesTransactionsVersion2 ? $", v2 next epoch {NextEpoch}" : "")}" +
        (EndTxnErrors.Count > 0 ? $", EndTxn errors [{string.Join(", ", EndTxnErrors)}]" : "");
}

/// <summary>A snapshot of what the <see cref="TransactionOracle"/> saw.</summary>
public sealed class TransactionReport
{
    internal TransactionReport(IReadOnlyList<TransactionSummary> transactions, IReadOnlyList<string> violations)
    {
        Transactions = transactions;
        Violations = violations;
    }

    /// <summary>Every transaction, in the order they began.</summary>
    public IReadOnlyList<TransactionSummary> Transactions { get; }

    /// <summary>The rule violations.</summary>
    public IReadOnlyList<string> Violations { get; }

    /// <summary>Transactions committed.</summary>
    public int Committed => Transactions.Count(t => t.Outcome == TransactionOutcome.Committed);

    /// <summary>Transactions aborted (by EndTxn or by the coordinator on InitProducerId).</summary>
    public int Aborted => Transactions.Count(t => t.Outcome == TransactionOutcome.Aborted);

    /// <summary>Batches sent by fenced producers (never visible on a real broker).</summary>
    public int FencedBatches => Transactions.Where(t => t.Outcome == TransactionOutcome.Fenced).Sum(t => t.Batches);

    /// <summary>Transactions not ended.</summary>
    public int Open => Transactions.Count(t => t.Outcome is TransactionOutcome.Open or TransactionOutcome.Ending);

    /// <summary>Batches per transaction, in the order the transactions began.</summary>
    public IReadOnlyList<int> BatchesPerTransaction => [.. Transactions.Select(t => t.Batches)];

    /// <summary>One line of counts.</summary>
    public override string ToString() =>
        $"transactions {Transactions.Count(t => t.Outcome != TransactionOutcome.Fenced)}: committed {Committed}, aborted {Aborted}, open {Open}; " +
        (FencedBatches > 0 ? $"batches of fenced producers {FencedBatches}; " : "") +
        $"batches {Transactions.Sum(t => t.Batches)}; violations {Violations.Count}";
}

/// <summary>Thrown by <see cref="TransactionOracle.Verify"/> when a transactional producer broke a rule.</summary>
public sealed class TransactionViolationException(string message) : Exception(message);
