using Microsoft.Extensions.Logging;
using Samsa.Cluster;
using Samsa.Diagnostics;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Producer.Internal;

/// <summary>The producer id and epoch an idempotent producer stamps on every batch.</summary>
internal readonly record struct ProducerIdAndEpoch(long ProducerId, short Epoch)
{
    /// <summary>What a non-idempotent producer sends: no id, no epoch, no sequence.</summary>
    public static ProducerIdAndEpoch None => new(-1, -1);
}

/// <summary>
/// Obtains the idempotent producer's id and epoch with InitProducerId, once, and hands the same
/// answer to every sender. A failed attempt is forgotten, so the next sender to ask tries again.
/// When a partition's sequence state is broken, <see cref="RequestBump"/> moves the producer to the
/// next epoch of the same id, locally, as Java's idempotent producer does (KIP-360): a broker takes a
/// higher epoch that starts at sequence 0. Each partition moves to it on its own, once that is safe
/// (see <see cref="PartitionSequences.CatchUp"/>).
/// A transactional producer's identity comes from its <see cref="TransactionManager"/> instead (InitProducerId with the
/// transactional id, at InitTransactions, and the epochs the coordinator gives later): senders wait until it is set, and
/// a bump is the coordinator's to give, so it is only reported (<see cref="BumpRequested"/>).
/// </summary>
internal sealed class ProducerIdentity(MetadataManager metadata, TimeSpan retryBackoff, ILogger logger, bool transactional = false)
{
    private readonly object _lock = new();
    private readonly TaskCompletionSource<ProducerIdAndEpoch>? _transactionalIdentity =
        transactional ? new(TaskCreationOptions.RunContinuationsAsynchronously) : null;

    private Task<ProducerIdAndEpoch>? _current;

    /// <summary>A transactional producer's partition found its sequence state broken and needs the next epoch.</summary>
    public event Action<ProducerIdAndEpoch>? BumpRequested;

    public Task<ProducerIdAndEpoch> GetAsync()
    {
        lock (_lock)
        {
            if (_transactionalIdentity is not null)
            {
                return _current ?? _transactionalIdentity.Task;
            }

            if (_current is null || _current.IsFaulted || _current.IsCanceled)
            {
                _current = InitAsync();
            }

            return _current;
        }
    }

    /// <summary>The identity a transactional producer's coordinator gave (InitProducerId, or an EndTxn v5 epoch bump).</summary>
    public void Set(ProducerIdAndEpoch identity)
    {
        lock (_lock)
        {
            _current = Task.FromResult(identity);
        }

        _transactionalIdentity!.TrySetResult(identity);
    }

    /// <summary>The identity in use, or None before the first one.</summary>
    public ProducerIdAndEpoch Current
    {
        get
        {
            lock (_lock)
            {
                return _current is { IsCompletedSuccessfully: true } done ? done.Result : ProducerIdAndEpoch.None;
            }
        }
    }

    /// <summary>
    /// Moves to the next epoch, unless another partition already did for the same identity: several
    /// partitions may find the same epoch broken, and one bump serves them all. At the last epoch a
    /// new producer id is fetched instead.
    /// </summary>
    public void RequestBump(ProducerIdAndEpoch failed)
    {
        if (_transactionalIdentity is not null)
        {
            BumpRequested?.Invoke(failed);
            return;
        }

        lock (_lock)
        {
            if (_current is { IsCompletedSuccessfully: true } done && done.Result == failed)
            {
                if (failed.Epoch < short.MaxValue)
                {
                    _current = Task.FromResult(failed with { Epoch = (short)(failed.Epoch + 1) });
                    IdempotenceLog.EpochBumped(logger, failed.ProducerId, failed.Epoch, (short)(failed.Epoch + 1));
                }
                else
                {
                    // The last epoch: a new producer id (logged when it arrives).
                    _current = InitAsync();
                }
            }
        }
    }

    private async Task<ProducerIdAndEpoch> InitAsync()
    {
        var connection = await metadata.AnyConnectionAsync().ConfigureAwait(false);
        var version = connection.Versions.Pick(ApiKey.InitProducerId, InitProducerIdRequest.LowestSupportedVersion, InitProducerIdRequest.HighestSupportedVersion);
        if (version < 0)
        {
            throw new KafkaException(
                $"Broker {connection.Address} does not support InitProducerId, which enable.idempotence=true needs (Kafka 0.11+). Set enable.idempotence=false.",
                ErrorCode.UnsupportedVersion);
        }

        var response = await connection.SendAsync(
            new InitProducerIdRequest
            {
                TransactionalId = null,

                // As the Java client does for a producer that is idempotent but not transactional.
                TransactionTimeoutMs = int.MaxValue,
                ProducerId = -1,
                ProducerEpoch = -1,
            },
            version).ConfigureAwait(false);
        var error = (ErrorCode)response.ErrorCode;
        if (error != ErrorCode.None)
        {
            IdempotenceLog.ProducerIdRequestFailed(logger, connection.Address, error, ErrorCodes.IsRetriable(error) ? "asked again after retry.backoff.ms" : "not retriable");

            // Retriable errors (e.g. COORDINATOR_LOAD_IN_PROGRESS) wait a backoff before the next ask.
            if (ErrorCodes.IsRetriable(error))
            {
                await Task.Delay(retryBackoff).ConfigureAwait(false);
            }

            throw new KafkaException($"InitProducerId failed with {ErrorCodes.Name(error)}; the idempotent producer cannot send until it succeeds.", error, ErrorCodes.IsRetriable(error));
        }

        IdempotenceLog.ProducerIdObtained(logger, response.ProducerId, response.ProducerEpoch, connection.Address);
        return new ProducerIdAndEpoch(response.ProducerId, response.ProducerEpoch);
    }
}
