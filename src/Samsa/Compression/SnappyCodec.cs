using System.Buffers;
using System.Buffers.Binary;
using Samsa.Protocol;
using Snappier;

namespace Samsa.Compression;

/// <summary>
/// Snappy in the xerial snappy-java framing, because that is what Kafka's Java client writes and
/// the only form Java consumers can read; librdkafka reads it too. Snappier supplies the raw blocks.
/// </summary>
internal static class SnappyCodec
{
    private const int HeaderSize = 16;

    // snappy-java's default block size, which Kafka's Java producer uses.
    private const int BlockSize = 32 * 1024;

    public static ReadOnlySpan<byte> XerialMagic => [0x82, (byte)'S', (byte)'N', (byte)'A', (byte)'P', (byte)'P', (byte)'Y', 0];

    public static void Compress(ReadOnlySpan<byte> source, IBufferWriter<byte> destination)
    {
        var header = destination.GetSpan(HeaderSize);
        XerialMagic.CopyTo(header);
        BinaryPrimitives.WriteInt32BigEndian(header[8..], 1); // version
        BinaryPrimitives.WriteInt32BigEndian(header[12..], 1); // minimum compatible version
        destination.Advance(HeaderSize);

        var maxBlock = 4 + Snappy.GetMaxCompressedLength(Math.Min(source.Length, BlockSize));
        while (!source.IsEmpty)
        {
            var chunk = source[..Math.Min(source.Length, BlockSize)];
            var span = destination.GetSpan(maxBlock);
            var written = Snappy.Compress(chunk, span[4..]);
            BinaryPrimitives.WriteInt32BigEndian(span, written);
            destination.Advance(4 + written);
            source = source[chunk.Length..];
        }
    }

    /// <summary>Accepts xerial-framed input and a bare snappy block, as librdkafka does.</summary>
    public static void Decompress(ReadOnlySpan<byte> source, IBufferWriter<byte> destination)
    {
        if (source.IsEmpty)
        {
            return;
        }

        if (source.Length < HeaderSize || !source.StartsWith(XerialMagic))
        {
            DecompressBlock(source, destination);
            return;
        }

        source = source[HeaderSize..];
        while (!source.IsEmpty)
        {
            if (source.Length < 4)
            {
                throw new KafkaProtocolException($"Truncated xerial snappy block length: {source.Length} bytes left.");
            }

            var length = BinaryPrimitives.ReadInt32BigEndian(source);
            if (length < 0 || length > source.Length - 4)
            {
                throw new KafkaProtocolException($"Xerial snappy block of {length} bytes does not fit the {source.Length - 4} bytes left.");
            }

            DecompressBlock(source.Slice(4, length), destination);
            source = source[(4 + length)..];
        }
    }

    private static void DecompressBlock(ReadOnlySpan<byte> block, IBufferWriter<byte> destination)
    {
        var length = Snappy.GetUncompressedLength(block);
        var written = Snappy.Decompress(block, destination.GetSpan(Math.Max(length, 1)));
        destination.Advance(written);
    }
}
