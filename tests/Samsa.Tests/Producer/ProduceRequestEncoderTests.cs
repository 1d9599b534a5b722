using System.Runtime.InteropServices;
using System.Text;
using Samsa.Network;
using Samsa.Producer.Internal;
using Samsa.Protocol;
using Samsa.Protocol.Messages;
using Samsa.Records;

namespace Samsa.Tests.Producer;

/// <summary>
/// The hand-written Produce encoder is checked against the generated code: its output must
/// decode with the generated reader, and equal byte for byte what the generated writer produces.
/// </summary>
public sealed class ProduceRequestEncoderTests
{
    public static TheoryData<short> Versions()
    {
        var data = new TheoryData<short>();
        for (var v = ProduceRequestEncoder.LowestVersion; v <= ProduceRequest.HighestSupportedVersion; v++)
        {
            data.Add(v);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public void EncodesWhatTheGeneratedDecoderReadsBack(short version)
    {
        var batches = MakeBatches();
        using var buffer = Contiguous(version, transactionalId: null, acks: -1, timeoutMs: 30_000, batches);

        var frame = buffer.Frame.WrittenSpan;
        var reader = new KafkaReader(frame);
        Assert.Equal(frame.Length - 4, reader.ReadInt32());
        var header = RequestHeader.Read(ref reader, version >= ProduceRequest.FlexibleVersionsStart ? (short)2 : (short)1);
        var request = ProduceRequest.Read(ref reader, version);
        reader.ThrowIfFailed("the encoded Produce request");
        Assert.Equal(0, reader.Remaining);

        Assert.Equal((short)ApiKey.Produce, header.RequestApiKey);
        Assert.Equal(version, header.RequestApiVersion);
        Assert.Equal("client-1", header.ClientId);
        Assert.Null(request.TransactionalId);
        Assert.Equal(-1, request.Acks);
        Assert.Equal(30_000, request.TimeoutMs);
        Assert.Equal(["alpha", "beta"], request.TopicData.Select(t => t.Name));
        Assert.Equal([0, 2], request.TopicData[0].PartitionData.Select(p => p.Index));
        Assert.Equal([1], request.TopicData[1].PartitionData.Select(p => p.Index));

        var decoded = request.TopicData.SelectMany(t => t.PartitionData).Select(p => RecordBatchReader.ReadAll(p.Records)).ToList();
        Assert.Equal(["a0-0", "a0-1"], decoded[0].Single().Records.Select(r => Encoding.UTF8.GetString(r.Value!)));
        Assert.Equal(["a2-0"], decoded[1].Single().Records.Select(r => Encoding.UTF8.GetString(r.Value!)));
        Assert.Equal(["b1-0", "b1-1", "b1-2"], decoded[2].Single().Records.Select(r => Encoding.UTF8.GetString(r.Value!)));
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public void EqualsTheGeneratedWriterByteForByte(short version)
    {
        var batches = MakeBatches();
        using var handWritten = Contiguous(version, transactionalId: null, acks: 1, timeoutMs: 1234, batches);

        var message = new ProduceRequest { Acks = 1, TimeoutMs = 1234 };
        foreach (var topic in batches.GroupBy(b => b.Partition.Topic))
        {
            var data = new ProduceRequest.TopicProduceData { Name = topic.Key };
            data.PartitionData.AddRange(topic.Select(b => new ProduceRequest.PartitionProduceData { Index = b.Partition.Partition, Records = b.Sealed.ToArray() }));
            message.TopicData.Add(data);
        }

        using var generated = new PooledBufferWriter();
        RequestFrame.Write(generated, message, version, "client-1");
        Assert.Equal(Convert.ToHexString(generated.WrittenSpan), Convert.ToHexString(handWritten.Frame.WrittenSpan));
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public void ASplicedRequestSendsTheSameBytesWithoutCopyingTheLargeBatches(short version)
    {
        // Large batches (spliced) between small ones (copied), in two topics.
        List<ProducerBatch> batches = [Batch("alpha", 0, 1, valueSize: 40_000), Batch("alpha", 1, 2), Batch("beta", 0, 2, valueSize: 20_000)];
        using var contiguous = Contiguous(version, transactionalId: "tx", acks: -1, timeoutMs: 30_000, batches);

        using var spliced = new SplicedFrame(256);
        spliced.Reset(maySplice: true);
        ProduceRequestEncoder.Write(spliced, version, "client-1", transactionalId: "tx", acks: -1, timeoutMs: 30_000, batches);

        // The frame holds everything but the two large batches, which the segments point to where they are.
        Assert.Equal(contiguous.Frame.WrittenCount, spliced.Frame.WrittenCount + batches[0].Sealed.Length + batches[2].Sealed.Length);
        var segments = spliced.Segments();
        foreach (var large in new[] { batches[0], batches[2] })
        {
            Assert.True(MemoryMarshal.TryGetArray(large.Sealed, out var bytes));
            Assert.Contains(segments, s => s.Array == bytes.Array && s.Offset == bytes.Offset && s.Count == bytes.Count);
        }

        Assert.Equal(Convert.ToHexString(contiguous.Frame.WrittenSpan), Convert.ToHexString(segments.SelectMany(s => s).ToArray()));
    }

    // The request as a TLS connection sends it: every batch copied into the frame.
    private static SplicedFrame Contiguous(short version, string? transactionalId, short acks, int timeoutMs, List<ProducerBatch> batches)
    {
        var request = new SplicedFrame(256);
        request.Reset(maySplice: false);
        ProduceRequestEncoder.Write(request, version, "client-1", transactionalId, acks, timeoutMs, batches);
        return request;
    }

    private static List<ProducerBatch> MakeBatches()
    {
        // Grouped by topic, as the sender hands them over.
        return
        [
            Batch("alpha", 0, 2),
            Batch("alpha", 2, 1),
            Batch("beta", 1, 3),
        ];
    }

    private static ProducerBatch Batch(string topic, int partition, int records, int valueSize = 0)
    {
        // The encoder reads only the batch's partition and sealed bytes, so no engine is needed.
        var batch = new ProducerBatch(new PartitionAccumulator(topic, partition, null!), 1024, createdTicks: 0);
        for (var i = 0; i < records; i++)
        {
            var value = Encoding.UTF8.GetBytes($"{topic[0]}{partition}-{i}".PadRight(valueSize, '.'));
            Assert.True(batch.Builder.TryAppend(1_700_000_000_000 + i, default, keyIsNull: true, value, valueIsNull: false, headers: null, batchSizeLimit: 1 << 20));
        }

        batch.Seal(CompressionType.None, compressionLevel: 0, new BufferMemory(long.MaxValue));
        return batch;
    }
}
