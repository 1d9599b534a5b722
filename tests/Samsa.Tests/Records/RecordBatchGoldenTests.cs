using System.Buffers.Binary;
using Samsa.Compression;
using Samsa.Records;

namespace Samsa.Tests.Records;

public class RecordBatchGoldenTests
{
    private const long T0 = 1_700_000_000_000; // 0x0000018BCFE56800

    // The expected batch, derived field by field from the v2 format (KIP-98). Varints are zig-zag:
    // n >= 0 encodes as 2n, -1 as 0x01, -3 as 0x05. The CRC bytes are zero here and filled in by
    // the test from the bitwise reference CRC.
    private const string ExpectedHex =
        "0000000000000000" +   // baseOffset int64 = 0
        "00000053" +           // batchLength int32 = 95 total - 12 = 83
        "FFFFFFFF" +           // partitionLeaderEpoch int32 = -1
        "02" +                 // magic int8 = 2
        "00000000" +           // crc uint32 (placeholder)
        "0000" +               // attributes int16: codec none, create time, not transactional, not control
        "00000002" +           // lastOffsetDelta int32 = 3 records - 1
        "0000018BCFE56800" +   // baseTimestamp int64 = T0 (first record)
        "0000018BCFE56805" +   // maxTimestamp int64 = T0 + 5 (second record; the third goes back)
        "00000000000003E8" +   // producerId int64 = 1000
        "0002" +               // producerEpoch int16 = 2
        "00000007" +           // baseSequence int32 = 7
        "00000003" +           // records count int32 = 3

        // Record 0: key "k1", value "v", headers h=x and n=null. Body is 16 bytes.
        "20" +                 // length varint 16
        "00" +                 // attributes
        "00" +                 // timestampDelta varlong 0
        "00" +                 // offsetDelta varint 0
        "04" + "6B31" +        // key length 2, "k1"
        "02" + "76" +          // value length 1, "v"
        "04" +                 // header count 2
        "02" + "68" + "02" + "78" + // key length 1 "h", value length 1 "x"
        "02" + "6E" + "01" +   // key length 1 "n", value length -1 (null)

        // Record 1: null key, value "ab", no headers (null Headers), timestamp T0 + 5. Body is 8 bytes.
        "10" +                 // length varint 8
        "00" +                 // attributes
        "0A" +                 // timestampDelta varlong +5
        "02" +                 // offsetDelta varint 1
        "01" +                 // key length -1 (null)
        "04" + "6162" +        // value length 2, "ab"
        "00" +                 // header count 0

        // Record 2: key "k", null value, empty Headers, timestamp T0 - 3. Body is 7 bytes.
        "0E" +                 // length varint 7
        "00" +                 // attributes
        "05" +                 // timestampDelta varlong -3
        "04" +                 // offsetDelta varint 2
        "02" + "6B" +          // key length 1, "k"
        "01" +                 // value length -1 (null)
        "00";                  // header count 0

    // CRC-32C over bytes 21..95 of the batch above, from the bitwise reference; pinned so a
    // change to the reference or the range would show up too.
    private const uint ExpectedCrc = 0xD6ECF968;

    internal static RecordBatchBuilder BuildGoldenBatch()
    {
        var builder = new RecordBatchBuilder(128);
        var headers = new Headers().Add("h", "x"u8.ToArray()).Add("n", (byte[]?)null);
        Assert.True(builder.TryAppend(T0, "k1"u8, false, "v"u8, false, headers, 16384));
        Assert.True(builder.TryAppend(T0 + 5, default, true, "ab"u8, false, null, 16384));
        Assert.True(builder.TryAppend(T0 - 3, "k"u8, false, default, true, new Headers(), 16384));
        return builder;
    }

    [Fact]
    public void UncompressedBatchMatchesHandDerivedBytes()
    {
        var expected = Convert.FromHexString(ExpectedHex);
        Assert.Equal(95, expected.Length);
        var crc = Crc32CTests.Reference(expected.AsSpan(21));
        BinaryPrimitives.WriteUInt32BigEndian(expected.AsSpan(17), crc);

        using var builder = BuildGoldenBatch();
        Assert.Equal(95, builder.SizeInBytes);
        Assert.Equal(T0, builder.FirstTimestamp);
        var actual = builder.Seal(CompressionType.None, Compressor.DefaultLevel, 1000, 2, 7, false).ToArray();

        Assert.Equal(Convert.ToHexString(expected), Convert.ToHexString(actual));
        Assert.Equal(ExpectedCrc, crc);
    }

    [Fact]
    public void CrcCoversAttributesToEnd()
    {
        using var builder = BuildGoldenBatch();
        var batch = builder.Seal(CompressionType.None, Compressor.DefaultLevel, 1000, 2, 7, false).ToArray();
        var stored = BinaryPrimitives.ReadUInt32BigEndian(batch.AsSpan(17));

        for (var i = 0; i < batch.Length; i++)
        {
            if (i is >= 17 and < 21)
            {
                continue; // the CRC field itself
            }

            var copy = (byte[])batch.Clone();
            copy[i] ^= 0x01;
            var recomputed = Crc32CTests.Reference(copy.AsSpan(21));
            if (i < 21)
            {
                Assert.Equal(stored, recomputed);
            }
            else
            {
                Assert.NotEqual(stored, recomputed);
            }
        }

        // A broker rewrites partitionLeaderEpoch without touching the CRC, so that must still read.
        var epochChanged = (byte[])batch.Clone();
        BinaryPrimitives.WriteInt32BigEndian(epochChanged.AsSpan(12), 42);
        Assert.Equal(42, RecordBatchReader.ReadAll(epochChanged)[0].PartitionLeaderEpoch);

        var corrupt = (byte[])batch.Clone();
        corrupt[^1] ^= 0x80;
        var ex = Assert.Throws<Samsa.Protocol.KafkaProtocolException>(() => RecordBatchReader.ReadAll(corrupt));
        Assert.Contains("CRC", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReaderDecodesGoldenBatch()
    {
        using var builder = BuildGoldenBatch();
        var batch = Assert.Single(RecordBatchReader.ReadAll(builder.Seal(CompressionType.None, Compressor.DefaultLevel, 1000, 2, 7, true).Span));

        Assert.Equal(2, batch.Magic);
        Assert.True(batch.IsTransactional);
        Assert.False(batch.IsControl);
        Assert.Equal(0x10, batch.Attributes);
        Assert.Equal(-1, batch.PartitionLeaderEpoch);
        Assert.Equal(2, batch.LastOffsetDelta);
        Assert.Equal(T0, batch.BaseTimestamp);
        Assert.Equal(T0 + 5, batch.MaxTimestamp);
        Assert.Equal(1000, batch.ProducerId);
        Assert.Equal(2, batch.ProducerEpoch);
        Assert.Equal(7, batch.BaseSequence);
        Assert.Equal(3, batch.Records.Count);

        var r0 = batch.Records[0];
        Assert.Equal("k1"u8.ToArray(), r0.Key);
        Assert.Equal("v"u8.ToArray(), r0.Value);
        Assert.Equal(2, r0.Headers.Count);
        Assert.Equal("n", r0.Headers[1].Key);
        Assert.Null(r0.Headers[1].Value);

        var r1 = batch.Records[1];
        Assert.Null(r1.Key);
        Assert.Equal(1, r1.OffsetDelta);
        Assert.Equal(T0 + 5, r1.Timestamp);

        var r2 = batch.Records[2];
        Assert.Null(r2.Value);
        Assert.Equal(-3, r2.TimestampDelta);
        Assert.Equal(T0 - 3, r2.Timestamp);
        Assert.Empty(r2.Headers);
    }
}
