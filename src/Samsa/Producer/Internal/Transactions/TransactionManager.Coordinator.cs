using Samsa.Diagnostics;
using Samsa.Network;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Producer.Internal;

/// <summary>The requests to the transaction and group coordinators, their retries, and what their errors mean.</summary>
internal sealed partial class TransactionManager
{
    // FindCoordinator key types.
    private const sbyte GroupKey = 0;
    private const sbyte TransactionKey = 1;

    // KIP-890: brokers finalize this feature at 2 when transactions version 2 is on.
    private const string TransactionVersionFeature = "transaction.version";

    // KIP-890 part 2 versions: wire-identical to the previous ones (Produce v11, TxnOffsetCommit v4), they only tell the
    // broker to add the partition or group to the transaction itself. Our JSON definitions stop before them.
    public const short ProduceVersion2 = 12;
    private const short TxnOffsetCommitVersion2 = 5;
    private const short EndTxnVersion2 = 5;

    // AddPartitionsToTxn v4+ batches several transactions and is for brokers; clients stay at v3.
    private const short AddPartitionsClientMax = 3;

    private readonly Dictionary<(sbyte, string), BrokerAddress> _coordinators = [];

    private async Task<ProducerIdAndEpoch> InitProducerIdAsync(ProducerIdAndEpoch current)
    {
        return await WithCoordinatorAsync(
            "InitProducerId",
            TransactionKey,
            TransactionalId,
            async connection =>
            {
                var version = connection.Versions.Pick(ApiKey.InitProducerId, 0, InitProducerIdRequest.HighestSupportedVersion);
                if (version < 0)
                {
                    throw new KafkaException($"Broker {connection.Address} does not support InitProducerId, which transactions need (Kafka 0.11+).", ErrorCode.UnsupportedVersion);
                }

                // KIP-360 (v3+): naming the current id and epoch asks for the next epoch of the same id.
                var bump = version >= 3 && current.ProducerId >= 0;
                var response = await connection.SendAsync(
                    new InitProducerIdRequest
                    {
                        TransactionalId = TransactionalId,
                        TransactionTimeoutMs = (int)_engine.Options.TransactionTimeout.TotalMilliseconds,
                        ProducerId = bump ? current.ProducerId : -1,
                        ProducerEpoch = bump ? current.Epoch : (short)-1,
                    },
                    version,
                    _closing.Token).ConfigureAwait(false);
                UsesVersion2 = connection.Versions.FeatureLevel(TransactionVersionFeature) >= 2;
                return (new ProducerIdAndEpoch(response.ProducerId, response.ProducerEpoch), (ErrorCode)response.ErrorCode, (string?)null);
            }).ConfigureAwait(false);
    }

    // One AddPartitionsToTxn round after another while partitions wait; the senders of those added are woken.
    private async Task RegisterPartitionsAsync()
    {
        await Task.Yield();
        while (true)
        {
            List<PartitionAccumulator> batch;
            int generation;
            lock (_lock)
            {
                if (_unregistered.Count == 0 || State is not (TransactionState.InTransaction or TransactionState.Committing))
                {
                    _unregistered.Clear();
                    return;
                }

                batch = [.. _unregistered];
                _unregistered.Clear();
                generation = _generation;

                // From the moment the request may reach the coordinator, the transaction must be ended.
                _started = true;
            }

            try
            {
                await AddPartitionsAsync(batch).ConfigureAwait(false);
            }
            catch (KafkaException e)
            {
                if (e.IsFatal)
                {
                    _engine.EnterFatalState(e);
                    OnFatal(e);
                }
                else
                {
                    MakeAbortable(e as TransactionAbortableException ?? new TransactionAbortableException(
                        $"Could not add partitions to the transaction of '{TransactionalId}': {e.Message}", e.ErrorCode, e));
                }

                continue;
            }
            catch (OperationCanceledException)
            {
                return;
            }

            foreach (var partition in batch)
            {
                Volatile.Write(ref partition.TransactionAdded, generation);
                partition.Sender?.Wake();
            }
        }
    }

    private async Task AddPartitionsAsync(List<PartitionAccumulator> partitions)
    {
        var identity = _identity.Current;
        var topics = partitions.GroupBy(p => p.Topic)
            .Select(g => new AddPartitionsToTxnRequest.AddPartitionsToTxnTopic { Name = g.Key, Partitions = [.. g.Select(p => p.Partition)] })
            .ToList();
        await WithCoordinatorAsync(
            "AddPartitionsToTxn",
            TransactionKey,
            TransactionalId,
            async connection =>
            {
                var version = connection.Versions.Pick(ApiKey.AddPartitionsToTxn, 0, AddPartitionsClientMax);
                var response = await connection.SendAsync(
                    new AddPartitionsToTxnRequest
                    {
                        V3AndBelowTransactionalId = TransactionalId,
                        V3AndBelowProducerId = identity.ProducerId,
                        V3AndBelowProducerEpoch = identity.Epoch,
                        V3AndBelowTopics = topics,
                    },
                    version,
                    _closing.Token).ConfigureAwait(false);

                // The first real error decides; OPERATION_NOT_ATTEMPTED only says another partition failed.
                var error = ErrorCode.None;
                string? where = null;
                foreach (var topic in response.ResultsByTopicV3AndBelow)
                {
                    foreach (var result in topic.ResultsByPartition)
                    {
                        var code = (ErrorCode)result.PartitionErrorCode;
                        if (code != ErrorCode.None && (error is ErrorCode.None or ErrorCode.OperationNotAttempted))
                        {
                            error = code;
                            where = $"{topic.Name}[{result.PartitionIndex}]";
                        }
                    }
                }

                return (0, error, where);
            },
            concurrentTransactionsBackoff: TimeSpan.FromMilliseconds(20)).ConfigureAwait(false);
    }

    private async Task SendOffsetsCoreAsync(IReadOnlyList<TopicPartitionOffset> offsets, ConsumerGroupMetadata group)
    {
        await Task.Yield();
        try
        {
            var identity = _identity.Current;
            if (!UsesVersion2)
            {
                await WithCoordinatorAsync(
                    "AddOffsetsToTxn",
                    TransactionKey,
                    TransactionalId,
                    async connection =>
                    {
                        var version = connection.Versions.Pick(ApiKey.AddOffsetsToTxn, 0, AddOffsetsToTxnRequest.HighestSupportedVersion);
                        var response = await connection.SendAsync(
                            new AddOffsetsToTxnRequest { TransactionalId = TransactionalId, ProducerId = identity.ProducerId, ProducerEpoch = identity.Epoch, GroupId = group.GroupId },
                            version,
                            _closing.Token).ConfigureAwait(false);
                        return (0, (ErrorCode)response.ErrorCode, (string?)group.GroupId);
                    },
                    concurrentTransactionsBackoff: TimeSpan.FromMilliseconds(20)).ConfigureAwait(false);
            }

            var topics = offsets.GroupBy(o => o.Topic)
                .Select(g => new TxnOffsetCommitRequest.TxnOffsetCommitRequestTopic
                {
                    Name = g.Key,
                    Partitions = [.. g.Select(o => new TxnOffsetCommitRequest.TxnOffsetCommitRequestPartition
                    {
                        PartitionIndex = o.Partition,
                        CommittedOffset = o.Offset,
                        CommittedLeaderEpoch = o.LeaderEpoch ?? -1,
                        CommittedMetadata = "",
                    })],
                })
                .ToList();
            await WithCoordinatorAsync(
                "TxnOffsetCommit",
                GroupKey,
                group.GroupId,
                async connection =>
                {
                    var request = new TxnOffsetCommitRequest
                    {
                        TransactionalId = TransactionalId,
                        GroupId = group.GroupId,
                        ProducerId = identity.ProducerId,
                        ProducerEpoch = identity.Epoch,
                        GenerationId = group.GenerationId,
                        MemberId = group.MemberId,
                        GroupInstanceId = group.GroupInstanceId,
                        Topics = topics,
                    };
                    TxnOffsetCommitResponse response;
                    if (UsesVersion2 && connection.Versions.Pick(ApiKey.TxnOffsetCommit, TxnOffsetCommitVersion2, TxnOffsetCommitVersion2) == TxnOffsetCommitVersion2)
                    {
                        response = await connection.SendAsync(request, TxnOffsetCommitVersion2, TxnOffsetCommitRequest.HighestSupportedVersion, _closing.Token).ConfigureAwait(false);
                    }
                    else
                    {
                        var version = connection.Versions.Pick(ApiKey.TxnOffsetCommit, 0, TxnOffsetCommitRequest.HighestSupportedVersion);
                        response = await connection.SendAsync(request, version, _closing.Token).ConfigureAwait(false);
                    }

                    foreach (var topic in response.Topics)
                    {
                        foreach (var partition in topic.Partitions)
                        {
                            if (partition.ErrorCode != 0)
                            {
                                return (0, (ErrorCode)partition.ErrorCode, (string?)$"{topic.Name}[{partition.PartitionIndex}] of group '{group.GroupId}'");
                            }
                        }
                    }

                    return (0, ErrorCode.None, (string?)null);
                }).ConfigureAwait(false);
        }
        catch (KafkaException e)
        {
            if (e.IsFatal)
            {
                _engine.EnterFatalState(e);
                OnFatal(e);
                throw;
            }

            var abortable = e as TransactionAbortableException ?? new TransactionAbortableException(
                $"SendOffsetsToTransaction failed for group '{group.GroupId}': {e.Message} The transaction must abort.", e.ErrorCode, e);
            MakeAbortable(abortable);
            throw abortable;
        }
    }

    private async Task EndTransactionAsync(bool commit)
    {
        var identity = _identity.Current;
        var next = await WithCoordinatorAsync(
            commit ? "EndTxn(commit)" : "EndTxn(abort)",
            TransactionKey,
            TransactionalId,
            async connection =>
            {
                var request = new EndTxnRequest { TransactionalId = TransactionalId, ProducerId = identity.ProducerId, ProducerEpoch = identity.Epoch, Committed = commit };
                var version = connection.Versions.Pick(ApiKey.EndTxn, 0, UsesVersion2 ? EndTxnVersion2 : (short)(EndTxnVersion2 - 1));
                var response = await connection.SendAsync(request, version, _closing.Token).ConfigureAwait(false);

                // Version 5 (KIP-890 part 2) ends every transaction with a new epoch, which the answer carries.
                var bumped = version >= EndTxnVersion2 && response.ProducerId >= 0 ? new ProducerIdAndEpoch(response.ProducerId, response.ProducerEpoch) : identity;
                return (bumped, (ErrorCode)response.ErrorCode, (string?)null);
            },
            concurrentTransactionsBackoff: TimeSpan.FromMilliseconds(20),
            invalidStateMeansTimedOut: true).ConfigureAwait(false);
        if (next != identity)
        {
            _identity.Set(next);
        }
    }

    /// <summary>
    /// Sends a coordinator request until it succeeds or fails for good: coordinator moves, loading, concurrent
    /// transactions and lost connections are retried with backoff (a moved coordinator is looked up again); any
    /// other error is classified (<see cref="Classify"/>) and thrown. Ends only with success, an error, or the producer's close.
    /// </summary>
    private async Task<T> WithCoordinatorAsync<T>(
        string what,
        sbyte keyType,
        string key,
        Func<BrokerConnection, Task<(T Result, ErrorCode Error, string? Where)>> attempt,
        TimeSpan? concurrentTransactionsBackoff = null,
        bool invalidStateMeansTimedOut = false)
    {
        var token = _closing.Token;
        for (var attempts = 1; ; attempts++)
        {
            token.ThrowIfCancellationRequested();
            T result;
            ErrorCode error;
            string? where;
            try
            {
                var connection = await CoordinatorConnectionAsync(keyType, key, token).ConfigureAwait(false);
                (result, error, where) = await attempt(connection).ConfigureAwait(false);
            }
            catch (KafkaException e) when (e.IsRetriable && !e.IsFatal)
            {
                // A lost connection or a timeout: the coordinator may have moved; whether the request took effect is
                // unknown, and every coordinator request may be sent again safely.
                ForgetCoordinator(keyType, key);
                TransactionLog.CoordinatorRetry(_logger, what, attempts, e.Message);
                await Task.Delay(_engine.RetryBackoff(attempts), token).ConfigureAwait(false);
                continue;
            }

            if (error == ErrorCode.None)
            {
                return result;
            }

            if (error is ErrorCode.NotCoordinator or ErrorCode.CoordinatorNotAvailable)
            {
                ForgetCoordinator(keyType, key);
            }

            if (error is ErrorCode.NotCoordinator or ErrorCode.CoordinatorNotAvailable or ErrorCode.CoordinatorLoadInProgress
                or ErrorCode.ConcurrentTransactions or ErrorCode.UnknownTopicOrPartition or ErrorCode.RequestTimedOut)
            {
                TransactionLog.CoordinatorRetry(_logger, what, attempts, error);
                var backoff = error == ErrorCode.ConcurrentTransactions && concurrentTransactionsBackoff is { } shorter ? shorter : _engine.RetryBackoff(attempts);
                await Task.Delay(backoff, token).ConfigureAwait(false);
                continue;
            }

            throw Classify(what, error, where, invalidStateMeansTimedOut);
        }
    }

    private async Task<BrokerConnection> CoordinatorConnectionAsync(sbyte keyType, string key, CancellationToken token)
    {
        BrokerAddress known;
        bool found;
        lock (_coordinators)
        {
            found = _coordinators.TryGetValue((keyType, key), out known);
        }

        if (found)
        {
            return await _engine.Connections.GetAsync(known, token).ConfigureAwait(false);
        }

        var any = await _engine.Metadata.AnyConnectionAsync().ConfigureAwait(false);
        var version = any.Versions.Pick(ApiKey.FindCoordinator, 0, FindCoordinatorRequest.HighestSupportedVersion);
        if (version < 0)
        {
            throw new KafkaException($"Broker {any.Address} does not support FindCoordinator, which transactions need.", ErrorCode.UnsupportedVersion);
        }

        var request = version >= 4
            ? new FindCoordinatorRequest { KeyType = keyType, CoordinatorKeys = [key] }
            : new FindCoordinatorRequest { KeyType = keyType, Key = key };
        var response = await any.SendAsync(request, version, token).ConfigureAwait(false);
        var (error, nodeId, host, port) = version >= 4 && response.Coordinators.Count > 0
            ? ((ErrorCode)response.Coordinators[0].ErrorCode, response.Coordinators[0].NodeId, response.Coordinators[0].Host, response.Coordinators[0].Port)
            : ((ErrorCode)response.ErrorCode, response.NodeId, response.Host, response.Port);
        if (error != ErrorCode.None)
        {
            if (ErrorCodes.IsRetriable(error))
            {
                throw new KafkaException($"FindCoordinator for '{key}' answered {ErrorCodes.Name(error)}.", error, isRetriable: true);
            }

            throw Classify("FindCoordinator", error, key, invalidStateMeansTimedOut: false);
        }

        var address = new BrokerAddress(nodeId, host, port);
        lock (_coordinators)
        {
            _coordinators[(keyType, key)] = address;
        }

        return await _engine.Connections.GetAsync(address, token).ConfigureAwait(false);
    }

    private void ForgetCoordinator(sbyte keyType, string key)
    {
        lock (_coordinators)
        {
            _coordinators.Remove((keyType, key));
        }
    }

    /// <summary>What a coordinator's error means for the producer: fatal, the transaction must abort, or a plain error.</summary>
    private KafkaException Classify(string what, ErrorCode error, string? where, bool invalidStateMeansTimedOut)
    {
        var name = ErrorCodes.Name(error);
        var subject = where is null ? what : $"{what} ({where})";
        return error switch
        {
            ErrorCode.ProducerFenced or ErrorCode.InvalidProducerEpoch or ErrorCode.InvalidProducerIdMapping => new ProducerFencedException(
                $"{subject} answered {name}: another producer with transactional.id '{TransactionalId}' has started (or the coordinator moved the id on), which fences this one. Nothing it sends any more becomes visible. Dispose it.",
                error),
            ErrorCode.TransactionalIdAuthorizationFailed => new KafkaAuthorizationException(
                $"{subject} answered {name}: the principal may not use transactional.id '{TransactionalId}'. Grant it WRITE and DESCRIBE on the transactional id. The producer cannot go on.", error, isFatal: true),
            ErrorCode.ClusterAuthorizationFailed => new KafkaAuthorizationException(
                $"{subject} answered {name}: the principal may not use idempotent or transactional producing on this cluster. The producer cannot go on.", error, isFatal: true),
            ErrorCode.TopicAuthorizationFailed or ErrorCode.GroupAuthorizationFailed => new KafkaAuthorizationException(
                $"{subject} answered {name}: the principal may not write there. The transaction must abort.", error, isFatal: false),
            ErrorCode.InvalidTransactionTimeout => new KafkaException(
                $"{subject} answered {name}: transaction.timeout.ms ({_engine.Options.TransactionTimeout.TotalMilliseconds:0}) is larger than the broker's transaction.max.timeout.ms. Lower transaction.timeout.ms.", error),
            ErrorCode.InvalidTxnState when invalidStateMeansTimedOut => new TransactionTimedOutException(
                $"{subject} answered {name}: the coordinator no longer has this transaction open; it aborted it after transaction.timeout.ms ({_engine.Options.TransactionTimeout.TotalMilliseconds:0} ms). Nothing of it is visible. Abort, then start a new transaction.", error),
            ErrorCode.UnknownMemberId or ErrorCode.IllegalGeneration or ErrorCode.FencedInstanceId => new TransactionAbortableException(
                $"{subject} answered {name}: the consumer is no longer the group member that owned these partitions (a rebalance happened). The transaction must abort; consume again from the committed offsets.", error),
            ErrorCode.UnsupportedVersion or ErrorCode.UnsupportedForMessageFormat => new KafkaException(
                $"{subject} answered {name}: the broker does not support transactions as this producer needs (Kafka 0.11+, message format v2). The producer cannot go on.", error),
            _ => new TransactionAbortableException($"{subject} answered {name}. The transaction must abort.", error),
        };
    }
}
