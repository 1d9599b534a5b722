using System.Buffers;
using System.Buffers.Binary;
using K4os.Compression.LZ4;
using Samsa.Protocol;

namespace Samsa.Compression;

/// <summary>
/// LZ4 in the LZ4 frame format, which Kafka has used since magic v2 (KAFKA-3160's broken header
/// checksum only concerns v0/v1 batches). The frame is written here over K4os.Compression.LZ4's
/// block codec, so the K4os Streams package and its stream allocations are not needed.
/// </summary>
internal static class Lz4Codec
{
    /// <summary>Kafka's default lz4 level (Java's <c>CompressionType.LZ4.defaultLevel()</c>); it selects LZ4's fast mode.</summary>
    public const int DefaultLevel = 9;

    private const uint FrameMagic = 0x184D2204;
    private const uint SkippableMagicMask = 0xFFFFFFF0;
    private const uint SkippableMagic = 0x184D2A50;
    private const int BlockSize = 64 * 1024;
    private const uint UncompressedFlag = 0x80000000;

    // FLG: version 01, blocks independent; no block checksums, content size or content checksum,
    // which is what Kafka's Java client writes.
    private const byte FrameFlags = 0x60;

    // BD: maximum block size 64 KiB.
    private const byte BlockDescriptor = 0x40;

    public static void Compress(int level, ReadOnlySpan<byte> source, IBufferWriter<byte> destination)
    {
        var lz4Level = MapLevel(level);

        var header = destination.GetSpan(7);
        BinaryPrimitives.WriteUInt32LittleEndian(header, FrameMagic);
        header[4] = FrameFlags;
        header[5] = BlockDescriptor;
        header[6] = HeaderChecksum(header.Slice(4, 2));
        destination.Advance(7);

        while (!source.IsEmpty)
        {
            var chunk = source[..Math.Min(source.Length, BlockSize)];
            // Ask for what this block can need, not for a full 64 KiB block: a batch's output buffer
            // is sized for the batch, and a larger request would make every small batch rent a bigger one.
            var span = destination.GetSpan(4 + LZ4Codec.MaximumOutputSize(chunk.Length));
            var written = LZ4Codec.Encode(chunk, span[4..], lz4Level);
            if (written <= 0 || written >= chunk.Length)
            {
                // Incompressible data is stored as is, so the frame never grows by more than the
                // block headers.
                chunk.CopyTo(span[4..]);
                BinaryPrimitives.WriteUInt32LittleEndian(span, (uint)chunk.Length | UncompressedFlag);
                written = chunk.Length;
            }
            else
            {
                BinaryPrimitives.WriteUInt32LittleEndian(span, (uint)written);
            }

            destination.Advance(4 + written);
            source = source[chunk.Length..];
        }

        BinaryPrimitives.WriteUInt32LittleEndian(destination.GetSpan(4), 0); // EndMark
        destination.Advance(4);
    }

    /// <summary>
    /// Reads one or more frames, with or without content size, block and content checksums,
    /// and with linked blocks; skippable frames are ignored. Dictionaries are not supported.
    /// </summary>
    public static void Decompress(ReadOnlySpan<byte> source, IBufferWriter<byte> destination)
    {
        using var frame = new PooledBufferWriter(BlockSize);
        while (!source.IsEmpty)
        {
            if (source.Length < 4)
            {
                throw Corrupt("truncated frame magic");
            }

            var magic = BinaryPrimitives.ReadUInt32LittleEndian(source);
            if ((magic & SkippableMagicMask) == SkippableMagic)
            {
                var skip = source.Length >= 8 ? BinaryPrimitives.ReadUInt32LittleEndian(source[4..]) : uint.MaxValue;
                if (skip > (uint)(source.Length - 8))
                {
                    throw Corrupt("truncated skippable frame");
                }

                source = source[(8 + (int)skip)..];
                continue;
            }

            if (magic != FrameMagic)
            {
                throw Corrupt($"bad frame magic 0x{magic:X8}");
            }

            frame.Reset();
            source = DecompressFrame(source[4..], frame);
            frame.WrittenSpan.CopyTo(destination.GetSpan(frame.WrittenCount));
            destination.Advance(frame.WrittenCount);
        }
    }

    internal static byte HeaderChecksum(ReadOnlySpan<byte> descriptor) => (byte)(XxHash32.Hash(descriptor) >> 8);

    private static ReadOnlySpan<byte> DecompressFrame(ReadOnlySpan<byte> source, PooledBufferWriter output)
    {
        if (source.Length < 3)
        {
            throw Corrupt("truncated frame descriptor");
        }

        var flags = source[0];
        if (flags >> 6 != 1)
        {
            throw Corrupt($"unsupported frame version {flags >> 6}");
        }

        var independent = (flags & 0x20) != 0;
        var blockChecksums = (flags & 0x10) != 0;
        var hasContentSize = (flags & 0x08) != 0;
        var contentChecksum = (flags & 0x04) != 0;
        var hasDictionary = (flags & 0x01) != 0;

        var blockSizeCode = (source[1] >> 4) & 0x7;
        if (blockSizeCode < 4)
        {
            throw Corrupt($"invalid block size code {blockSizeCode}");
        }

        var maxBlockSize = 1 << (8 + (2 * blockSizeCode)); // 4 -> 64 KiB ... 7 -> 4 MiB

        var descriptorLength = 2 + (hasContentSize ? 8 : 0) + (hasDictionary ? 4 : 0);
        if (source.Length < descriptorLength + 1)
        {
            throw Corrupt("truncated frame descriptor");
        }

        var descriptor = source[..descriptorLength];
        if (source[descriptorLength] != HeaderChecksum(descriptor))
        {
            throw Corrupt($"header checksum 0x{source[descriptorLength]:X2} should be 0x{HeaderChecksum(descriptor):X2}");
        }

        if (hasDictionary)
        {
            throw Corrupt("frames that need a dictionary are not supported");
        }

        var contentSize = hasContentSize ? BinaryPrimitives.ReadUInt64LittleEndian(source[2..]) : 0;
        source = source[(descriptorLength + 1)..];

        while (true)
        {
            if (source.Length < 4)
            {
                throw Corrupt("truncated block size");
            }

            var rawSize = BinaryPrimitives.ReadUInt32LittleEndian(source);
            source = source[4..];
            if (rawSize == 0)
            {
                break;
            }

            var uncompressed = (rawSize & UncompressedFlag) != 0;
            var size = (int)(rawSize & ~UncompressedFlag);
            if (size > maxBlockSize || size > source.Length - (blockChecksums ? 4 : 0))
            {
                throw Corrupt($"block of {size} bytes is too big or truncated");
            }

            var block = source[..size];
            source = source[size..];
            if (blockChecksums)
            {
                if (BinaryPrimitives.ReadUInt32LittleEndian(source) != XxHash32.Hash(block))
                {
                    throw Corrupt("block checksum mismatch");
                }

                source = source[4..];
            }

            var target = output.GetSpan(maxBlockSize);
            int written;
            if (uncompressed)
            {
                block.CopyTo(target);
                written = size;
            }
            else if (independent || output.WrittenCount == 0)
            {
                written = LZ4Codec.Decode(block, target[..maxBlockSize]);
            }
            else
            {
                // Linked blocks may refer back up to 64 KiB into what was already decoded.
                var history = output.WrittenSpan;
                written = LZ4Codec.Decode(block, target[..maxBlockSize], history[Math.Max(0, history.Length - (64 * 1024))..]);
            }

            if (written < 0)
            {
                throw Corrupt("block does not decode");
            }

            output.Advance(written);
        }

        if (contentChecksum)
        {
            if (source.Length < 4)
            {
                throw Corrupt("truncated content checksum");
            }

            if (BinaryPrimitives.ReadUInt32LittleEndian(source) != XxHash32.Hash(output.WrittenSpan))
            {
                throw Corrupt("content checksum mismatch");
            }

            source = source[4..];
        }

        if (hasContentSize && contentSize != (ulong)output.WrittenCount)
        {
            throw Corrupt($"frame declares {contentSize} bytes but holds {output.WrittenCount}");
        }

        return source;
    }

    /// <summary>
    /// As Java's <c>Lz4BlockOutputStream</c>: Kafka's default level 9 selects lz4-java's fast compressor, whether
    /// it was left unset or set to 9, and any other level its HC compressor at that level (KIP-390). Kafka accepts
    /// 1-17 only, so anything below 1 is the unset sentinel (<see cref="Compressor.DefaultLevel"/>). K4os has no HC
    /// levels below 3, so 1 and 2 stay in fast mode, and it tops out at 12.
    /// </summary>
    private static LZ4Level MapLevel(int level) => level switch
    {
        DefaultLevel or < 3 => LZ4Level.L00_FAST,
        > 12 => LZ4Level.L12_MAX,
        _ => (LZ4Level)level,
    };

    private static KafkaProtocolException Corrupt(string what) => new($"Invalid LZ4 frame: {what}.");
}
