using System.Buffers.Binary;
using System.Net.Sockets;
using Samsa.Network;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Tests.Transactions;

/// <summary>
/// The scripted KIP-890 broker itself, spoken to with frames from the generated code, and Samsa's golden bytes for
/// the two KIP-890 request versions the JSON definitions here do not list (EndTxn v5 is in them; TxnOffsetCommit
/// v5 is v4's layout under a new version number).
/// </summary>
public sealed class Kip890BrokerTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private sealed class RawClient : IDisposable
    {
        private readonly TcpClient _client = new() { NoDelay = true };
        private int _correlation;

        public RawClient(int port) => _client.Connect("127.0.0.1", port);

        public async Task<byte[]> CallAsync(IKafkaRequest request, short version, bool flexibleResponseHeader)
        {
            var body = TxnWire.Request(request, version, ++_correlation);
            var frame = new byte[4 + body.Length];
            BinaryPrimitives.WriteInt32BigEndian(frame, body.Length);
            body.CopyTo(frame, 4);
            var stream = _client.GetStream();
            await stream.WriteAsync(frame).AsTask().WaitAsync(Bound);
            var size = new byte[4];
            await stream.ReadExactlyAsync(size).AsTask().WaitAsync(Bound);
            var answer = new byte[BinaryPrimitives.ReadInt32BigEndian(size)];
            await stream.ReadExactlyAsync(answer).AsTask().WaitAsync(Bound);
            Assert.Equal(_correlation, BinaryPrimitives.ReadInt32BigEndian(answer));
            return answer[(flexibleResponseHeader ? 5 : 4)..];
        }

        public void Dispose() => _client.Dispose();
    }

    private static T Read<T>(byte[] body, short version, ReadMessage<T> read)
    {
        var reader = new KafkaReader(body);
        var result = read(ref reader, version);
        reader.ThrowIfFailed(typeof(T).Name);
        return result;
    }

    private delegate T ReadMessage<T>(ref KafkaReader reader, short version);

    [Fact]
    public async Task ApiVersionsAnnouncesTransactionVersion2AndTheKip890Versions()
    {
        await using var broker = Kip890Broker.Start();
        using var client = new RawClient(broker.Port);
        var answer = Read(await client.CallAsync(new ApiVersionsRequest { ClientSoftwareName = "t", ClientSoftwareVersion = "1" }, 4, false), 4, ApiVersionsResponse.Read);

        Assert.Equal(0, answer.ErrorCode);
        short Max(ApiKey key) => answer.ApiKeys.Single(k => k.ApiKey == (short)key).MaxVersion;
        Assert.Equal(12, Max(ApiKey.Produce));
        Assert.Equal(5, Max(ApiKey.EndTxn));
        Assert.Equal(5, Max(ApiKey.TxnOffsetCommit));
        var feature = Assert.Single(answer.FinalizedFeatures);
        Assert.Equal(("transaction.version", (short)2, (short)2), (feature.Name, feature.MinVersionLevel, feature.MaxVersionLevel));
        Assert.True(answer.FinalizedFeaturesEpoch >= 0);
    }

    [Fact]
    public async Task TheClassicBrokerAnnouncesTransactionVersion0AndCapsTheVersions()
    {
        await using var broker = Kip890Broker.Start(transactionVersion: 0);
        using var client = new RawClient(broker.Port);
        var answer = Read(await client.CallAsync(new ApiVersionsRequest { ClientSoftwareName = "t", ClientSoftwareVersion = "1" }, 4, false), 4, ApiVersionsResponse.Read);

        Assert.Equal(11, answer.ApiKeys.Single(k => k.ApiKey == (short)ApiKey.Produce).MaxVersion);
        Assert.Equal(4, answer.ApiKeys.Single(k => k.ApiKey == (short)ApiKey.EndTxn).MaxVersion);
        Assert.Equal(0, Assert.Single(answer.FinalizedFeatures).MaxVersionLevel);
    }

    [Fact]
    public async Task EndTxnV5AnswersTheNextEpochAndProduceV12IsRecorded()
    {
        await using var broker = Kip890Broker.Start();
        using var client = new RawClient(broker.Port);
        var init = Read(await client.CallAsync(new InitProducerIdRequest { TransactionalId = "txn-1", TransactionTimeoutMs = 60_000 }, 5, true), 5, InitProducerIdResponse.Read);
        Assert.Equal((Kip890Broker.ProducerIdGiven, (short)0), (init.ProducerId, init.ProducerEpoch));

        var batch = TxnWire.Batch(init.ProducerId, init.ProducerEpoch, 0, true, "a", "b");
        var produced = Read(await client.CallAsync(TxnWire.Produce("txn-1", ("out", 1, batch)), 12, true), TxnWire.ProduceLayoutMax, ProduceResponse.Read);
        Assert.Equal(0, produced.Responses[0].PartitionResponses[0].BaseOffset);

        var end = Read(await client.CallAsync(new EndTxnRequest { TransactionalId = "txn-1", ProducerId = init.ProducerId, ProducerEpoch = 0, Committed = true }, 5, true), 5, EndTxnResponse.Read);
        Assert.Equal((0, Kip890Broker.ProducerIdGiven, (short)1), (end.ErrorCode, end.ProducerId, end.ProducerEpoch));
        Assert.Equal(1, broker.CurrentEpoch);

        var recorded = Assert.Single(broker.Of(ApiKey.Produce));
        Assert.Equal(12, recorded.Version);
        var (topic, partition, decoded) = Assert.Single(recorded.Batches);
        Assert.Equal(("out", 1, true, (short)0, 2), (topic, partition, decoded.IsTransactional, decoded.ProducerEpoch, decoded.RecordCount));
        Assert.Equal(5, Assert.Single(broker.Of(ApiKey.EndTxn)).Version);
    }

    [Fact]
    public async Task TxnOffsetCommitV5IsDecodedWithV4sLayoutAndFaultsAreScripted()
    {
        await using var broker = Kip890Broker.Start();
        broker.FailNext(ApiKey.TxnOffsetCommit, 51);
        using var client = new RawClient(broker.Port);
        var request = TxnWire.TxnOffsetCommit("txn-1", "grp", 4242, 0, "in", (0, 42));
        var first = Read(await client.CallAsync(request, 5, true), TxnWire.TxnOffsetCommitLayoutMax, TxnOffsetCommitResponse.Read);
        var second = Read(await client.CallAsync(request, 5, true), TxnWire.TxnOffsetCommitLayoutMax, TxnOffsetCommitResponse.Read);

        Assert.Equal(51, first.Topics[0].Partitions[0].ErrorCode);
        Assert.Equal(0, second.Topics[0].Partitions[0].ErrorCode);
        var recorded = broker.Of(ApiKey.TxnOffsetCommit);
        Assert.Equal(2, recorded.Count);
        var body = Assert.IsType<TxnOffsetCommitRequest>(recorded[0].Body);
        Assert.Equal(("grp", 3, "member-1", 42L), (body.GroupId, body.GenerationId, body.MemberId, body.Topics[0].Partitions[0].CommittedOffset));
    }

    [Fact]
    public async Task ASamsaProducerProducesThroughTheFakeBroker()
    {
        await using var broker = Kip890Broker.Start(new Dictionary<string, int> { ["out"] = 2 });
        await using var producer = new ProducerBuilder<string, string>(new ProducerOptions { BootstrapServers = [broker.BootstrapServers], MaxBlock = TimeSpan.FromSeconds(10) }).Build();
        var result = await producer.ProduceAsync(new ProducerRecord<string, string>("out", "k", "v")).AsTask().WaitAsync(Bound);

        Assert.True(result.Offset >= 0);
        var produce = Assert.Single(broker.Of(ApiKey.Produce));
        Assert.True(produce.Version >= 9, $"Produce v{produce.Version}");
        Assert.Equal("v", System.Text.Encoding.UTF8.GetString(Assert.Single(Assert.Single(produce.Batches).Batch.Records).Value!));
    }

    // ---- golden bytes: the KIP-890 requests as Samsa frames them (RequestFrame, header v2, correlation id 0 until sent) ----

    private static string Frame(IKafkaRequest request, short wireVersion)
    {
        using var buffer = new PooledBufferWriter();
        RequestFrame.Write(buffer, request, wireVersion, "samsa", TxnWire.LayoutVersion(request.ApiKey, wireVersion));
        return Convert.ToHexString(buffer.WrittenSpan).ToLowerInvariant();
    }

    [Fact]
    public void EndTxnV5RequestGoldenBytes()
    {
        var hex = Frame(new EndTxnRequest { TransactionalId = "txn-1", ProducerId = 4242, ProducerEpoch = 3, Committed = true }, 5);
        var expected = string.Concat(
            "00000022", // size: 34 bytes follow (16 header, 18 body)
            "001a", "0005", "00000000", // EndTxn, v5, correlation id (patched when sent)
            "0005", "73616d7361", "00", // client id "samsa" (classic string), header tagged fields
            "06", "74786e2d31", // transactional id "txn-1" (compact: length + 1)
            "0000000000001092", // producer id 4242
            "0003", // producer epoch 3
            "01", // committed
            "00"); // tagged fields
        Assert.Equal(expected, hex);
    }

    [Fact]
    public void TxnOffsetCommitV5RequestGoldenBytes()
    {
        var request = new TxnOffsetCommitRequest
        {
            TransactionalId = "txn-1",
            GroupId = "grp",
            ProducerId = 4242,
            ProducerEpoch = 3,
            GenerationId = 7,
            MemberId = "m-1",
            GroupInstanceId = null,
            Topics =
            [
                new TxnOffsetCommitRequest.TxnOffsetCommitRequestTopic
                {
                    Name = "in",
                    Partitions = [new TxnOffsetCommitRequest.TxnOffsetCommitRequestPartition { PartitionIndex = 1, CommittedOffset = 42, CommittedLeaderEpoch = -1, CommittedMetadata = "" }],
                },
            ],
        };
        var expected = string.Concat(
            "00000046", // size: 70 bytes follow (16 header, 54 body)
            "001c", "0005", "00000000", // TxnOffsetCommit, v5 on the wire (v4's layout), correlation id
            "0005", "73616d7361", "00", // client id "samsa", header tagged fields
            "06", "74786e2d31", // transactional id "txn-1"
            "04", "677270", // group id "grp"
            "0000000000001092", // producer id 4242
            "0003", // producer epoch 3
            "00000007", // generation id 7
            "04", "6d2d31", // member id "m-1"
            "00", // group instance id: null
            "02", // 1 topic
            "03", "696e", // "in"
            "02", // 1 partition
            "00000001", // partition 1
            "000000000000002a", // committed offset 42
            "ffffffff", // committed leader epoch -1
            "01", // metadata "" (compact nullable: 0 + 1)
            "00", "00", "00"); // tagged fields: partition, topic, request
        Assert.Equal(expected, Frame(request, 5));
    }
}
