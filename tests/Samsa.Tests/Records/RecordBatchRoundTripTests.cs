using System.Buffers.Binary;
using Samsa.Compression;
using Samsa.Records;

namespace Samsa.Tests.Records;

public class RecordBatchRoundTripTests
{
    private sealed record Input(long Timestamp, byte[]? Key, byte[]? Value, Headers? Headers);

    public static TheoryData<CompressionType> Codecs =>
    [
        CompressionType.None,
        CompressionType.Gzip,
        CompressionType.Snappy,
        CompressionType.Lz4,
        CompressionType.Zstd,
    ];

    private static List<Input> RandomRecords(int seed, int count)
    {
        var random = new Random(seed);
        var records = new List<Input>(count);
        var timestamp = 1_700_000_000_000L;
        for (var i = 0; i < count; i++)
        {
            // Timestamps wander both ways, so some fall before the first and their deltas are negative.
            timestamp += random.Next(-5000, 5000);

            byte[]? key = random.Next(5) == 0 ? null : Bytes(random, random.Next(0, 40), compressible: true);
            byte[]? value = random.Next(10) switch
            {
                0 => null,
                1 => [],
                2 => Bytes(random, random.Next(65_000, 200_000), compressible: random.Next(2) == 0), // crosses 32/64 KiB blocks
                _ => Bytes(random, random.Next(1, 500), compressible: true),
            };

            Headers? headers = null;
            var headerCount = random.Next(4) == 0 ? random.Next(0, 30) : -1;
            if (headerCount >= 0)
            {
                headers = new Headers();
                for (var h = 0; h < headerCount; h++)
                {
                    headers.Add($"header-{h}-ü", random.Next(4) == 0 ? null : Bytes(random, random.Next(0, 20), compressible: false));
                }
            }

            records.Add(new Input(timestamp, key, value, headers));
        }

        return records;
    }

    private static byte[] Bytes(Random random, int length, bool compressible)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        if (compressible)
        {
            for (var i = 0; i < bytes.Length; i++)
            {
                bytes[i] = (byte)('a' + (bytes[i] % 4));
            }
        }

        return bytes;
    }

    [Theory]
    [MemberData(nameof(Codecs))]
    public void BuilderToReaderRoundTrips(CompressionType codec)
    {
        var inputs = RandomRecords(seed: 42 + (int)codec, count: 400);
        using var builder = new RecordBatchBuilder(1024);
        foreach (var input in inputs)
        {
            Assert.True(builder.TryAppend(input.Timestamp, input.Key, input.Key is null, input.Value, input.Value is null, input.Headers, int.MaxValue));
        }

        var uncompressedSize = builder.SizeInBytes;
        var sealedBatch = builder.Seal(codec, Compressor.DefaultLevel, 77, 3, 1000, false);
        if (codec == CompressionType.None)
        {
            Assert.Equal(uncompressedSize, sealedBatch.Length);
        }
        else
        {
            Assert.True(sealedBatch.Length < uncompressedSize, $"{codec}: {sealedBatch.Length} >= {uncompressedSize}");
        }

        var batch = Assert.Single(RecordBatchReader.ReadAll(sealedBatch.Span));
        Assert.Equal(codec, batch.Compression);
        Assert.Equal(inputs.Count, batch.RecordCount);
        Assert.Equal(inputs.Count - 1, batch.LastOffsetDelta);
        Assert.Equal(inputs[0].Timestamp, batch.BaseTimestamp);
        Assert.Equal(inputs.Max(i => i.Timestamp), batch.MaxTimestamp);
        Assert.Equal(77, batch.ProducerId);
        Assert.Equal(3, batch.ProducerEpoch);
        Assert.Equal(1000, batch.BaseSequence);
        Assert.Contains(batch.Records, r => r.TimestampDelta < 0);
        AssertRecords(inputs, batch);
    }

    // A compressed batch keeps its output where its records were; splitting it (the broker refused it as too
    // large) and sealing again must decompress them first.
    [Theory]
    [MemberData(nameof(Codecs))]
    public void ASealedBatchSplitsAndSealsAgainWithEveryRecordIntact(CompressionType codec)
    {
        var inputs = RandomRecords(seed: 7 + (int)codec, count: 300);
        using var builder = new RecordBatchBuilder(1024);
        using var tail = new RecordBatchBuilder(1024);
        foreach (var input in inputs)
        {
            Assert.True(builder.TryAppend(input.Timestamp, input.Key, input.Key is null, input.Value, input.Value is null, input.Headers, int.MaxValue));
        }

        builder.Seal(codec, Compressor.DefaultLevel, 1, 0, 0, false);
        builder.MoveRecordsTo(tail, 120);

        AssertRecords(inputs[..120], Assert.Single(RecordBatchReader.ReadAll(builder.Seal(codec, Compressor.DefaultLevel, 1, 0, 0, false).Span)));
        AssertRecords(inputs[120..], Assert.Single(RecordBatchReader.ReadAll(tail.Seal(codec, Compressor.DefaultLevel, 1, 0, 120, false).Span)));
        AssertRecords(inputs[..120], Assert.Single(RecordBatchReader.ReadAll(builder.Seal(CompressionType.None, Compressor.DefaultLevel, 1, 0, 0, false).Span)));
    }

    private static void AssertRecords(List<Input> inputs, DecodedBatch batch)
    {
        Assert.Equal(inputs.Count, batch.Records.Count);
        for (var i = 0; i < inputs.Count; i++)
        {
            var expected = inputs[i];
            var actual = batch.Records[i];
            Assert.Equal(i, actual.OffsetDelta);
            Assert.Equal(expected.Timestamp, actual.Timestamp);
            Assert.Equal(expected.Key, actual.Key);
            Assert.Equal(expected.Value, actual.Value);
            Assert.Equal(expected.Headers?.Count ?? 0, actual.Headers.Count);
            for (var h = 0; h < actual.Headers.Count; h++)
            {
                Assert.Equal(expected.Headers![h].Key, actual.Headers[h].Key);
                Assert.Equal(expected.Headers[h].Value, actual.Headers[h].Value);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Codecs))]
    public void BuilderIsReusableAfterReset(CompressionType codec)
    {
        using var builder = new RecordBatchBuilder(64);
        for (var round = 0; round < 3; round++)
        {
            var inputs = RandomRecords(seed: round, count: 20);
            foreach (var input in inputs)
            {
                Assert.True(builder.TryAppend(input.Timestamp, input.Key, input.Key is null, input.Value, input.Value is null, input.Headers, int.MaxValue));
            }

            var batch = Assert.Single(RecordBatchReader.ReadAll(builder.Seal(codec, Compressor.DefaultLevel, -1, -1, -1, false).Span));
            Assert.Equal(inputs.Count, batch.Records.Count);
            Assert.Equal(inputs[^1].Value, batch.Records[^1].Value);
            Assert.Equal(-1, batch.ProducerId);
            Assert.Equal(-1, batch.ProducerEpoch);
            Assert.Equal(-1, batch.BaseSequence);
            builder.Reset();
            Assert.Equal(0, builder.RecordCount);
            Assert.Equal(RecordBatchBuilder.HeaderSize, builder.SizeInBytes);
        }
    }

    [Fact]
    public void ReaderDecodesConcatenatedBatches()
    {
        using var a = RecordBatchGoldenTests.BuildGoldenBatch();
        using var b = RecordBatchGoldenTests.BuildGoldenBatch();
        var first = a.Seal(CompressionType.None, Compressor.DefaultLevel, 1, 0, 0, false).ToArray();
        var second = b.Seal(CompressionType.Lz4, Compressor.DefaultLevel, 1, 0, 3, false).ToArray();
        var both = first.Concat(second).ToArray();

        var batches = RecordBatchReader.ReadAll(both);
        Assert.Equal(2, batches.Count);
        Assert.Equal(CompressionType.Lz4, batches[1].Compression);
        Assert.Equal(3, batches[1].BaseSequence);

        // A fetch response may end in a partial batch.
        Assert.Single(RecordBatchReader.ReadAll(both.AsSpan(0, first.Length + 30), ignoreTruncatedTail: true));
        Assert.Throws<Samsa.Protocol.KafkaProtocolException>(() => RecordBatchReader.ReadAll(both.AsSpan(0, first.Length + 30)));
    }

    [Fact]
    public void ReaderRejectsOtherMagic()
    {
        using var builder = RecordBatchGoldenTests.BuildGoldenBatch();
        var batch = builder.Seal(CompressionType.None, Compressor.DefaultLevel, 1, 0, 0, false).ToArray();
        batch[16] = 1;
        var ex = Assert.Throws<Samsa.Protocol.KafkaProtocolException>(() => RecordBatchReader.ReadAll(batch));
        Assert.Contains("magic", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Codecs))]
    public void RewriteProducerStatePatchesFieldsAndCrc(CompressionType codec)
    {
        using var builder = new RecordBatchBuilder(256);
        foreach (var input in RandomRecords(seed: 9, count: 30))
        {
            builder.TryAppend(input.Timestamp, input.Key, input.Key is null, input.Value, input.Value is null, input.Headers, int.MaxValue);
        }

        var original = builder.Seal(codec, Compressor.DefaultLevel, 5, 1, 10, true).ToArray();
        var rewritten = (byte[])original.Clone();
        RecordBatchBuilder.RewriteProducerState(rewritten, 123_456_789_012, 9, 2_000_000_000);

        Assert.NotEqual(BinaryPrimitives.ReadUInt32BigEndian(original.AsSpan(17)), BinaryPrimitives.ReadUInt32BigEndian(rewritten.AsSpan(17)));
        Assert.Equal(Crc32CTests.Reference(rewritten.AsSpan(21)), BinaryPrimitives.ReadUInt32BigEndian(rewritten.AsSpan(17)));

        // Everything but the patched fields and the CRC is byte-for-byte the same (no re-compression).
        Assert.Equal(original.AsSpan(61).ToArray(), rewritten.AsSpan(61).ToArray());
        Assert.Equal(original.AsSpan(0, 17).ToArray(), rewritten.AsSpan(0, 17).ToArray());
        Assert.Equal(original.AsSpan(21, 22).ToArray(), rewritten.AsSpan(21, 22).ToArray());

        var before = Assert.Single(RecordBatchReader.ReadAll(original));
        var after = Assert.Single(RecordBatchReader.ReadAll(rewritten));
        Assert.Equal(123_456_789_012, after.ProducerId);
        Assert.Equal(9, after.ProducerEpoch);
        Assert.Equal(2_000_000_000, after.BaseSequence);
        Assert.True(after.IsTransactional);
        Assert.Equal(before.Records.Count, after.Records.Count);
        Assert.Equal(before.Records[^1].Value, after.Records[^1].Value);

        // Also works on the builder's own sealed memory in place, with trailing bytes after the batch.
        var withTail = original.Concat(new byte[] { 1, 2, 3 }).ToArray();
        RecordBatchBuilder.RewriteProducerState(withTail, 123_456_789_012, 9, 2_000_000_000);
        Assert.Equal(rewritten, withTail.AsSpan(0, rewritten.Length).ToArray());

        Assert.Throws<ArgumentException>(() => RecordBatchBuilder.RewriteProducerState(new byte[10], 1, 1, 1));
    }
}
