using Samsa.Cluster;
using Samsa.Network;

namespace Samsa.Producer.Internal;

/// <summary>Topics resolving, and partitions following their leaders from sender to sender.</summary>
internal sealed partial class ProducerEngine
{
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
        ClientTelemetry?.EnsureStarted();
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
}
