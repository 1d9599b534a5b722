using Samsa.Cluster;
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
/// When the broker no longer accepts the current epoch's sequences, <see cref="RequestBump"/>
/// asks for the next epoch of the same id (KIP-360), so the producer recovers by itself.
/// </summary>
internal sealed class ProducerIdentity(MetadataManager metadata, TimeSpan retryBackoff)
{
    private readonly object _lock = new();
    private Task<ProducerIdAndEpoch>? _current;

    public Task<ProducerIdAndEpoch> GetAsync()
    {
        lock (_lock)
        {
            if (_current is null || _current.IsFaulted || _current.IsCanceled)
            {
                _current = InitAsync(ProducerIdAndEpoch.None);
            }

            return _current;
        }
    }

    /// <summary>
    /// Moves to a new epoch, unless another batch already did for the same failed identity: many
    /// partitions may report the same broken sequence state, and one bump serves them all.
    /// </summary>
    public void RequestBump(ProducerIdAndEpoch failed)
    {
        lock (_lock)
        {
            if (_current is { IsCompletedSuccessfully: true } done && done.Result == failed)
            {
                _current = InitAsync(failed);
            }
        }
    }

    private async Task<ProducerIdAndEpoch> InitAsync(ProducerIdAndEpoch previous)
    {
        var connection = await metadata.AnyConnectionAsync().ConfigureAwait(false);
        var version = connection.Versions.Pick(ApiKey.InitProducerId, InitProducerIdRequest.LowestSupportedVersion, InitProducerIdRequest.HighestSupportedVersion);
        if (version < 0)
        {
            throw new KafkaException(
                $"Broker {connection.Address} does not support InitProducerId, which enable.idempotence=true needs (Kafka 0.11+). Set enable.idempotence=false.",
                ErrorCode.UnsupportedVersion);
        }

        // v3+ can bump the epoch of an existing id; older brokers hand out a new id instead,
        // which serves as well since sequences restart either way.
        var bump = previous.ProducerId >= 0 && version >= 3 && previous.Epoch < short.MaxValue;
        var response = await SendAsync(connection, version, bump ? previous : ProducerIdAndEpoch.None).ConfigureAwait(false);
        var error = (ErrorCode)response.ErrorCode;
        if (error != ErrorCode.None && bump)
        {
            // A broker that refuses to bump this id (librdkafka's mock, for one) still hands out a new one.
            response = await SendAsync(connection, version, ProducerIdAndEpoch.None).ConfigureAwait(false);
            error = (ErrorCode)response.ErrorCode;
        }

        if (error != ErrorCode.None)
        {
            // Retriable errors (e.g. COORDINATOR_LOAD_IN_PROGRESS) wait a backoff before the next ask.
            if (ErrorCodes.IsRetriable(error))
            {
                await Task.Delay(retryBackoff).ConfigureAwait(false);
            }

            throw new KafkaException($"InitProducerId failed with {ErrorCodes.Name(error)}; the idempotent producer cannot send until it succeeds.", error, ErrorCodes.IsRetriable(error));
        }

        return new ProducerIdAndEpoch(response.ProducerId, response.ProducerEpoch);
    }

    private static Task<InitProducerIdResponse> SendAsync(Network.BrokerConnection connection, short version, ProducerIdAndEpoch current) =>
        connection.SendAsync(
            new InitProducerIdRequest
            {
                TransactionalId = null,

                // As the Java client does for a producer that is idempotent but not transactional.
                TransactionTimeoutMs = int.MaxValue,
                ProducerId = current.ProducerId,
                ProducerEpoch = current.Epoch,
            },
            version);
}
