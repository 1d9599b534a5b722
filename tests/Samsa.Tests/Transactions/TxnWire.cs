using System.Text;
using Samsa.Compression;
using Samsa.Protocol;
using Samsa.Protocol.Messages;
using Samsa.Records;

namespace Samsa.Tests.Transactions;

/// <summary>
/// Frames as Samsa's generated protocol code writes them, for the transaction tests: a request with its header
/// (no size prefix), an answer with its header, and record batches built by <see cref="RecordBatchBuilder"/>.
/// </summary>
/// <remarks>
/// KIP-890's Produce v12 and TxnOffsetCommit v5 have the layout of v11 and v4 (the JSON definitions here stop
/// there): <see cref="Request"/> writes the body with the layout version and puts the wire version in the header.
/// </remarks>
internal static class TxnWire
{
    /// <summary>The highest Produce version the generated code knows; v12 has its layout.</summary>
    public const short ProduceLayoutMax = ProduceRequest.HighestSupportedVersion;

    /// <summary>The highest TxnOffsetCommit version the generated code knows; v5 has its layout.</summary>
    public const short TxnOffsetCommitLayoutMax = TxnOffsetCommitRequest.HighestSupportedVersion;

    /// <summary>The layout version for <paramref name="wireVersion"/> of <paramref name="apiKey"/>.</summary>
    public static short LayoutVersion(ApiKey apiKey, short wireVersion) => apiKey switch
    {
        ApiKey.Produce => Math.Min(wireVersion, ProduceLayoutMax),
        ApiKey.TxnOffsetCommit => Math.Min(wireVersion, TxnOffsetCommitLayoutMax),
        _ => wireVersion,
    };

    public static byte[] Request(IKafkaRequest request, short wireVersion, int correlationId, string clientId = "samsa-test")
    {
        var layout = LayoutVersion(request.ApiKey, wireVersion);
        using var buffer = new PooledBufferWriter();
        var writer = new KafkaWriter(buffer);
        new RequestHeader
        {
            RequestApiKey = (short)request.ApiKey,
            RequestApiVersion = wireVersion,
            CorrelationId = correlationId,
            ClientId = clientId,
        }.Write(writer, request.RequestHeaderVersion(layout));
        request.Write(writer, layout);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>An answer: the response header (v1 when <paramref name="flexibleHeader"/>), then the body.</summary>
    public static byte[] Response(int correlationId, bool flexibleHeader, Action<KafkaWriter> body)
    {
        using var buffer = new PooledBufferWriter();
        var writer = new KafkaWriter(buffer);
        new ResponseHeader { CorrelationId = correlationId }.Write(writer, flexibleHeader ? (short)1 : (short)0);
        body(writer);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>An uncompressed v2 batch of UTF-8 values.</summary>
    public static byte[] Batch(long producerId, short epoch, int baseSequence, bool transactional, params string[] values)
    {
        using var builder = new RecordBatchBuilder(256);
        foreach (var v in values)
        {
            var bytes = Encoding.UTF8.GetBytes(v);
            builder.TryAppend(1_700_000_000_000, default, keyIsNull: true, bytes, valueIsNull: false, headers: null, int.MaxValue);
        }

        return builder.Seal(CompressionType.None, 0, producerId, epoch, baseSequence, transactional).ToArray();
    }

    public static ProduceRequest Produce(string? transactionalId, params (string Topic, int Partition, byte[] Batch)[] batches) => new()
    {
        TransactionalId = transactionalId,
        Acks = -1,
        TimeoutMs = 30_000,
        TopicData = [.. batches.GroupBy(b => b.Topic).Select(g => new ProduceRequest.TopicProduceData
        {
            Name = g.Key,
            PartitionData = [.. g.Select(b => new ProduceRequest.PartitionProduceData { Index = b.Partition, Records = b.Batch })],
        })],
    };

    public static ProduceResponse ProduceAnswer(params (string Topic, int Partition, short Error, long BaseOffset)[] partitions) => new()
    {
        Responses = [.. partitions.GroupBy(p => p.Topic).Select(g => new ProduceResponse.TopicProduceResponse
        {
            Name = g.Key,
            PartitionResponses = [.. g.Select(p => new ProduceResponse.PartitionProduceResponse { Index = p.Partition, ErrorCode = p.Error, BaseOffset = p.BaseOffset })],
        })],
    };

    public static AddPartitionsToTxnRequest AddPartitions(string transactionalId, long producerId, short epoch, string topic, params int[] partitions) => new()
    {
        V3AndBelowTransactionalId = transactionalId,
        V3AndBelowProducerId = producerId,
        V3AndBelowProducerEpoch = epoch,
        V3AndBelowTopics = [new AddPartitionsToTxnRequest.AddPartitionsToTxnTopic { Name = topic, Partitions = [.. partitions] }],
    };

    public static AddPartitionsToTxnResponse AddPartitionsAnswer(string topic, params (int Partition, short Error)[] results) => new()
    {
        ResultsByTopicV3AndBelow =
        [
            new AddPartitionsToTxnResponse.AddPartitionsToTxnTopicResult
            {
                Name = topic,
                ResultsByPartition = [.. results.Select(r => new AddPartitionsToTxnResponse.AddPartitionsToTxnPartitionResult { PartitionIndex = r.Partition, PartitionErrorCode = r.Error })],
            },
        ],
    };

    public static TxnOffsetCommitRequest TxnOffsetCommit(string transactionalId, string groupId, long producerId, short epoch, string topic, params (int Partition, long Offset)[] offsets) => new()
    {
        TransactionalId = transactionalId,
        GroupId = groupId,
        ProducerId = producerId,
        ProducerEpoch = epoch,
        GenerationId = 3,
        MemberId = "member-1",
        Topics =
        [
            new TxnOffsetCommitRequest.TxnOffsetCommitRequestTopic
            {
                Name = topic,
                Partitions = [.. offsets.Select(o => new TxnOffsetCommitRequest.TxnOffsetCommitRequestPartition { PartitionIndex = o.Partition, CommittedOffset = o.Offset })],
            },
        ],
    };

    public static TxnOffsetCommitResponse TxnOffsetCommitAnswer(string topic, params (int Partition, short Error)[] results) => new()
    {
        Topics =
        [
            new TxnOffsetCommitResponse.TxnOffsetCommitResponseTopic
            {
                Name = topic,
                Partitions = [.. results.Select(r => new TxnOffsetCommitResponse.TxnOffsetCommitResponsePartition { PartitionIndex = r.Partition, ErrorCode = r.Error })],
            },
        ],
    };
}
