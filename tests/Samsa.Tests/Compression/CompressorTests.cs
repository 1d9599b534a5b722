using System.Buffers.Binary;
using System.Text;
using K4os.Compression.LZ4;
using Samsa.Compression;
using Samsa.Protocol;
using Snappier;

namespace Samsa.Tests.Compression;

public class CompressorTests
{
    public static TheoryData<CompressionType> Codecs =>
    [
        CompressionType.None,
        CompressionType.Gzip,
        CompressionType.Snappy,
        CompressionType.Lz4,
        CompressionType.Zstd,
    ];

    private static byte[] Compress(CompressionType type, ReadOnlySpan<byte> data, int level = Compressor.DefaultLevel)
    {
        using var output = new PooledBufferWriter(16);
        Compressor.Compress(type, level, data, output);
        return output.WrittenSpan.ToArray();
    }

    private static byte[] Decompress(CompressionType type, ReadOnlySpan<byte> data)
    {
        using var output = new PooledBufferWriter(16);
        Compressor.Decompress(type, data, output);
        return output.WrittenSpan.ToArray();
    }

    private static byte[] Text(int length)
    {
        var random = new Random(length);
        var words = new[] { "kafka ", "record ", "batch ", "producer ", "samsa ", "gregor " };
        var builder = new StringBuilder();
        while (builder.Length < length)
        {
            builder.Append(words[random.Next(words.Length)]);
        }

        return Encoding.ASCII.GetBytes(builder.ToString(0, length));
    }

    private static byte[] Noise(int length)
    {
        var bytes = new byte[length];
        new Random(length).NextBytes(bytes);
        return bytes;
    }

    public static TheoryData<CompressionType, int, bool> Inputs()
    {
        var data = new TheoryData<CompressionType, int, bool>();
        foreach (var codec in new[] { CompressionType.None, CompressionType.Gzip, CompressionType.Snappy, CompressionType.Lz4, CompressionType.Zstd })
        {
            foreach (var length in new[] { 0, 1, 100, 32 * 1024, (64 * 1024) + 1, 300_000 })
            {
                data.Add(codec, length, true);
                data.Add(codec, length, false);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Inputs))]
    public void RoundTrips(CompressionType codec, int length, bool text)
    {
        var input = text ? Text(length) : Noise(length);
        var compressed = Compress(codec, input);
        Assert.Equal(input, Decompress(codec, compressed));
        if (text && length >= 32 * 1024 && codec != CompressionType.None)
        {
            Assert.True(compressed.Length < input.Length / 2, $"{codec} only got {input.Length} to {compressed.Length}");
        }
    }

    [Theory]
    [InlineData(CompressionType.Gzip, 1)]
    [InlineData(CompressionType.Gzip, 9)]
    [InlineData(CompressionType.Gzip, -1)]
    [InlineData(CompressionType.Lz4, 1)]
    [InlineData(CompressionType.Lz4, 9)]
    [InlineData(CompressionType.Lz4, 17)]
    [InlineData(CompressionType.Zstd, -5)]
    [InlineData(CompressionType.Zstd, 1)]
    [InlineData(CompressionType.Zstd, 22)]
    public void ExplicitLevelsRoundTrip(CompressionType codec, int level)
    {
        var input = Text(100_000);
        Assert.Equal(input, Decompress(codec, Compress(codec, input, level)));
    }

    [Fact]
    public void SnappyUsesXerialFramingWith32KiBBlocks()
    {
        var input = Text(100_000);
        var compressed = Compress(CompressionType.Snappy, input);

        Assert.Equal(new byte[] { 0x82, (byte)'S', (byte)'N', (byte)'A', (byte)'P', (byte)'P', (byte)'Y', 0 }, compressed.AsSpan(0, 8).ToArray());
        Assert.Equal(1, BinaryPrimitives.ReadInt32BigEndian(compressed.AsSpan(8))); // version
        Assert.Equal(1, BinaryPrimitives.ReadInt32BigEndian(compressed.AsSpan(12))); // minimum compatible version

        var blocks = new List<int>();
        var rest = compressed.AsSpan(16);
        while (!rest.IsEmpty)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(rest);
            blocks.Add(Snappy.GetUncompressedLength(rest.Slice(4, length)));
            rest = rest[(4 + length)..];
        }

        Assert.Equal(new[] { 32768, 32768, 32768, 100_000 - (3 * 32768) }, blocks);
    }

    [Fact]
    public void SnappyDecompressesRawBlocks()
    {
        var input = Text(50_000);
        Assert.Equal(input, Decompress(CompressionType.Snappy, Snappy.CompressToArray(input)));
        Assert.Equal(new byte[] { 7 }, Decompress(CompressionType.Snappy, Snappy.CompressToArray(new byte[] { 7 })));
    }

    [Fact]
    public void Lz4WritesAFrameWithValidHeaderChecksum()
    {
        var compressed = Compress(CompressionType.Lz4, Text(200_000));

        Assert.Equal(0x184D2204u, BinaryPrimitives.ReadUInt32LittleEndian(compressed)); // bytes 04 22 4D 18
        Assert.Equal(0x60, compressed[4]); // version 01, independent blocks, no checksums, no size
        Assert.Equal(0x40, compressed[5]); // 64 KiB blocks

        // HC = second byte of xxHash32(FLG..BD, seed 0); for 60 40 it is the well-known 0x82.
        Assert.Equal((byte)(XxHash32.Hash(compressed.AsSpan(4, 2)) >> 8), compressed[6]);
        Assert.Equal(0x82, compressed[6]);

        // Four blocks of at most 64 KiB, then the end mark.
        var rest = compressed.AsSpan(7);
        var blocks = 0;
        while (true)
        {
            var size = BinaryPrimitives.ReadUInt32LittleEndian(rest);
            rest = rest[4..];
            if (size == 0)
            {
                break;
            }

            Assert.Equal(0u, size & 0x80000000u); // text compresses
            blocks++;
            rest = rest[(int)size..];
        }

        Assert.Equal(4, blocks);
        Assert.True(rest.IsEmpty);
    }

    [Fact]
    public void Lz4StoresIncompressibleBlocksRaw()
    {
        var input = Noise(70_000);
        var compressed = Compress(CompressionType.Lz4, input);
        var first = BinaryPrimitives.ReadUInt32LittleEndian(compressed.AsSpan(7));
        Assert.Equal(0x80000000u | 65536u, first);
        Assert.Equal(input.AsSpan(0, 65536).ToArray(), compressed.AsSpan(11, 65536).ToArray());

        // 7 header + 2 block sizes + data + end mark: never bigger than that.
        Assert.Equal(7 + 4 + 65536 + 4 + (70_000 - 65536) + 4, compressed.Length);
        Assert.Equal(input, Decompress(CompressionType.Lz4, compressed));
    }

    /// <summary>The one block of a frame written for fewer than 64 KiB of compressible input.</summary>
    private static byte[] SingleLz4Block(byte[] frame)
    {
        var size = (int)BinaryPrimitives.ReadUInt32LittleEndian(frame.AsSpan(7));
        Assert.Equal(7 + 4 + size + 4, frame.Length);
        return frame.AsSpan(11, size).ToArray();
    }

    private static byte[] K4osBlock(byte[] input, LZ4Level level)
    {
        var block = new byte[LZ4Codec.MaximumOutputSize(input.Length)];
        return block.AsSpan(0, LZ4Codec.Encode(input, block, level)).ToArray();
    }

    // Java's Lz4BlockOutputStream picks lz4-java's fast compressor for level 9 (Kafka's default), set or not.
    [Theory]
    [InlineData(Compressor.DefaultLevel)]
    [InlineData(9)]
    public void Lz4DefaultLevelUsesFastMode(int level)
    {
        var input = Text(16_000); // about one batch.size of records
        var compressed = Compress(CompressionType.Lz4, input, level);

        Assert.Equal(K4osBlock(input, LZ4Level.L00_FAST), SingleLz4Block(compressed));
        Assert.Equal(input, Decompress(CompressionType.Lz4, compressed));
    }

    // Any other level is LZ4 HC at that level; K4os stops at 12, lz4-java at 17.
    [Theory]
    [InlineData(3, LZ4Level.L03_HC)]
    [InlineData(8, LZ4Level.L08_HC)]
    [InlineData(10, LZ4Level.L10_OPT)]
    [InlineData(12, LZ4Level.L12_MAX)]
    [InlineData(17, LZ4Level.L12_MAX)]
    public void Lz4OtherLevelsUseHighCompression(int level, LZ4Level expected)
    {
        var input = Text(16_000);
        var compressed = Compress(CompressionType.Lz4, input, level);

        var block = SingleLz4Block(compressed);
        Assert.Equal(K4osBlock(input, expected), block);
        Assert.NotEqual(K4osBlock(input, LZ4Level.L00_FAST), block);
        Assert.Equal(input, Decompress(CompressionType.Lz4, compressed));
    }

    [Fact]
    public void Lz4ReadsFramesWithContentSizeAndChecksums()
    {
        var input = Text(150_000);
        using var frame = new PooledBufferWriter(16);
        var header = frame.GetSpan(15);
        BinaryPrimitives.WriteUInt32LittleEndian(header, 0x184D2204);
        header[4] = 0x60 | 0x10 | 0x08 | 0x04; // independent, block checksums, content size, content checksum
        header[5] = 0x50; // 256 KiB blocks
        BinaryPrimitives.WriteUInt64LittleEndian(header[6..], (ulong)input.Length);
        header[14] = (byte)(XxHash32.Hash(header.Slice(4, 10)) >> 8);
        frame.Advance(15);

        var block = new byte[LZ4Codec.MaximumOutputSize(input.Length)];
        var size = LZ4Codec.Encode(input, block, LZ4Level.L00_FAST);
        var span = frame.GetSpan(size + 16);
        BinaryPrimitives.WriteUInt32LittleEndian(span, (uint)size);
        block.AsSpan(0, size).CopyTo(span[4..]);
        BinaryPrimitives.WriteUInt32LittleEndian(span[(4 + size)..], XxHash32.Hash(block.AsSpan(0, size)));
        BinaryPrimitives.WriteUInt32LittleEndian(span[(8 + size)..], 0);
        BinaryPrimitives.WriteUInt32LittleEndian(span[(12 + size)..], XxHash32.Hash(input));
        frame.Advance(size + 16);

        // Two frames back to back, with a skippable frame between them.
        var skippable = new byte[] { 0x50, 0x2A, 0x4D, 0x18, 3, 0, 0, 0, 9, 9, 9 };
        var twice = frame.WrittenSpan.ToArray().Concat(skippable).Concat(frame.WrittenSpan.ToArray()).ToArray();
        Assert.Equal(input.Concat(input).ToArray(), Decompress(CompressionType.Lz4, twice));

        var badBlockChecksum = frame.WrittenSpan.ToArray();
        badBlockChecksum[15 + 4 + size] ^= 1;
        Assert.Throws<KafkaProtocolException>(() => Decompress(CompressionType.Lz4, badBlockChecksum));

        var badHeaderChecksum = frame.WrittenSpan.ToArray();
        badHeaderChecksum[14] ^= 1;
        var ex = Assert.Throws<KafkaProtocolException>(() => Decompress(CompressionType.Lz4, badHeaderChecksum));
        Assert.Contains("header checksum", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ZstdWritesAStandardFrameWithContentSize()
    {
        var input = Text(100_000);
        var compressed = Compress(CompressionType.Zstd, input);
        Assert.Equal(0xFD2FB528u, BinaryPrimitives.ReadUInt32LittleEndian(compressed));
        Assert.Equal((ulong)input.Length, ZstdSharp.Decompressor.GetDecompressedSize(compressed));
    }

    [Fact]
    public void GzipWritesAGzipMember()
    {
        var compressed = Compress(CompressionType.Gzip, Text(1000));
        Assert.Equal(0x1F, compressed[0]);
        Assert.Equal(0x8B, compressed[1]);
        Assert.Equal(8, compressed[2]); // deflate
    }

    [Theory]
    [InlineData(CompressionType.Snappy)]
    [InlineData(CompressionType.Lz4)]
    [InlineData(CompressionType.Zstd)]
    public void TruncatedInputRaisesProtocolException(CompressionType codec)
    {
        var compressed = Compress(codec, Text(10_000));
        var truncated = compressed.AsSpan(0, compressed.Length / 2).ToArray();
        Assert.Throws<KafkaProtocolException>(() => Decompress(codec, truncated));
    }

    [Fact]
    public void CorruptGzipRaisesProtocolException()
    {
        // .NET's GZipStream ends quietly at a truncation, but zlib checks the member's CRC-32,
        // so damaged data is caught (and a truncated batch fails when its records are parsed).
        var compressed = Compress(CompressionType.Gzip, Text(10_000));
        compressed[compressed.Length / 2] ^= 0xFF;
        compressed[(compressed.Length / 2) + 1] ^= 0xFF;
        Assert.Throws<KafkaProtocolException>(() => Decompress(CompressionType.Gzip, compressed));
    }

    [Theory]
    [MemberData(nameof(Codecs))]
    public void EmptyInputDecompressesToNothing(CompressionType codec)
    {
        Assert.Empty(Decompress(codec, Compress(codec, [])));
    }
}
