using Samsa.Cluster;
using Samsa.Network;
using Samsa.Protocol.Messages;

namespace Samsa.Tests.Cluster;

/// <summary>Metadata answers fed to <see cref="MetadataManager"/> directly, with no broker.</summary>
public sealed class MetadataManagerTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    [Fact]
    public void OlderLeaderEpochDoesNotMoveTheLeaderBack()
    {
        using var metadata = NewManager();
        metadata.Apply(Answer(("t", 0, Leader: 1, Epoch: 5)), version: 12);

        // A broker that has not heard of epoch 5 yet still names the old leader (KIP-320).
        var stale = metadata.Apply(Answer(("t", 0, Leader: 2, Epoch: 4)), version: 12);
        Assert.Equal(1, stale.Topics["t"].Partitions[0].LeaderId);
        Assert.Equal(5, stale.Topics["t"].Partitions[0].LeaderEpoch);

        var same = metadata.Apply(Answer(("t", 0, Leader: 1, Epoch: 5)), version: 12);
        Assert.Equal(1, same.Topics["t"].Partitions[0].LeaderId);

        var newer = metadata.Apply(Answer(("t", 0, Leader: 2, Epoch: 6)), version: 12);
        Assert.Equal(2, newer.Topics["t"].Partitions[0].LeaderId);
        Assert.Equal(6, newer.Topics["t"].Partitions[0].LeaderEpoch);
    }

    [Fact]
    public void EpochsOfAnswersBeforeV9AreNotCompared()
    {
        // KAFKA-9212: Java does not trust leader epochs of Metadata v7-v8 answers.
        using var metadata = NewManager();
        metadata.Apply(Answer(("t", 0, Leader: 1, Epoch: 5)), version: 8);
        var next = metadata.Apply(Answer(("t", 0, Leader: 2, Epoch: 4)), version: 8);
        Assert.Equal(2, next.Topics["t"].Partitions[0].LeaderId);
    }

    [Fact]
    public void LeaderHintWithNewerEpochOutlivesAnOlderMetadataAnswer()
    {
        using var metadata = NewManager();
        metadata.Apply(Answer(("t", 0, Leader: 1, Epoch: 5)), version: 12);

        Assert.True(metadata.TryApplyLeaderHint("t", 0, leaderEpoch: 6, new BrokerAddress(3, "b3", 9093)));
        Assert.Equal(3, metadata.Snapshot.Topics["t"].Partitions[0].LeaderId);
        Assert.Equal(new BrokerAddress(3, "b3", 9093), metadata.Snapshot.Brokers[3]);

        // Not newer than what is known: ignored.
        Assert.False(metadata.TryApplyLeaderHint("t", 0, leaderEpoch: 6, new BrokerAddress(1, "b1", 9091)));
        Assert.False(metadata.TryApplyLeaderHint("t", 0, leaderEpoch: 2, new BrokerAddress(1, "b1", 9091)));

        var stale = metadata.Apply(Answer(("t", 0, Leader: 1, Epoch: 5)), version: 12);
        Assert.Equal(3, stale.Topics["t"].Partitions[0].LeaderId);
        Assert.True(stale.Brokers.ContainsKey(3));
    }

    [Fact]
    public void PartitionMissingFromTheAnswerHasNoLeader()
    {
        using var metadata = NewManager();
        var snapshot = metadata.Apply(Answer(("t", 0, Leader: 1, Epoch: 1), ("t", 2, Leader: 1, Epoch: 1)), version: 12);

        var topic = snapshot.Topics["t"];
        Assert.Equal(3, topic.Partitions.Length);
        Assert.False(topic.Partitions[1].HasLeader);
        Assert.Equal(1, topic.Partitions[1].Partition);
        Assert.Equal([0, 2], topic.AvailablePartitions);
    }

    [Fact]
    public void TopicUnusedForMaxIdleIsDroppedFromRequestsAndComesBackWhenTouched()
    {
        long now = 1_000;
        using var metadata = NewManager(maxIdle: TimeSpan.FromSeconds(5), nowMs: () => Volatile.Read(ref now));
        _ = metadata.RefreshAsync("kept");
        _ = metadata.RefreshAsync("idle");

        Volatile.Write(ref now, 5_000);
        metadata.Touch("kept");
        Volatile.Write(ref now, 6_001);
        Assert.Equal(["kept"], metadata.TopicsToRequest());

        metadata.Touch("idle");
        Assert.Equal(["idle", "kept"], metadata.TopicsToRequest().Order());
    }

    [Fact]
    public async Task DisposeEndsWaitsForMetadata()
    {
        var metadata = NewManager(bootstrap: [new BrokerAddress(-1, "127.0.0.1", ClosedPort())]);
        var wait = metadata.GetTopicAsync("t", TimeSpan.FromMinutes(5), CancellationToken.None);
        metadata.Dispose();

        await Assert.ThrowsAsync<ProducerClosedException>(() => wait.WaitAsync(Bound));
        await Assert.ThrowsAsync<ProducerClosedException>(() => metadata.RefreshAsync("t").WaitAsync(Bound));
    }

    private static MetadataManager NewManager(TimeSpan? maxIdle = null, Func<long>? nowMs = null, IReadOnlyList<BrokerAddress>? bootstrap = null)
    {
        var connections = new BrokerConnections(
            new ConnectionSettings("test", TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5)),
            TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(-1), HostResolver.System);
        return new MetadataManager(
            bootstrap ?? [], connections, TimeSpan.FromMinutes(5), maxIdle ?? TimeSpan.FromMinutes(5), ClientDnsLookup.UseAllDnsIps, HostResolver.System, nowMs);
    }

    private static MetadataResponse Answer(params (string Topic, int Partition, int Leader, int Epoch)[] partitions)
    {
        var response = new MetadataResponse();
        foreach (var id in partitions.Select(p => p.Leader).Distinct())
        {
            response.Brokers.Add(new MetadataResponse.MetadataResponseBroker { NodeId = id, Host = $"b{id}", Port = 9090 + id });
        }

        foreach (var group in partitions.GroupBy(p => p.Topic))
        {
            var topic = new MetadataResponse.MetadataResponseTopic { Name = group.Key };
            foreach (var p in group)
            {
                topic.Partitions.Add(new MetadataResponse.MetadataResponsePartition { PartitionIndex = p.Partition, LeaderId = p.Leader, LeaderEpoch = p.Epoch });
            }

            response.Topics.Add(topic);
        }

        return response;
    }

    private static int ClosedPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
