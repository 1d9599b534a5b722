using System.Buffers;
using Samsa.Protocol;

namespace Samsa.Compression;

/// <summary>
/// The record batch codecs, behind one switch so the batch builder and reader need not know
/// which package implements which codec. Everything here is pure managed code with no
/// reflection, so it stays AOT- and trimming-safe.
/// </summary>
internal static class Compressor
{
    /// <summary>
    /// <c>compression.level</c> left unset: each codec uses Kafka's default (gzip -1, lz4 9 = LZ4's fast mode, zstd 3).
    /// A sentinel outside every codec's range because -1 is a real zstd level.
    /// </summary>
    public const int DefaultLevel = int.MinValue;

    /// <summary>Appends the compressed form of <paramref name="source"/> to <paramref name="destination"/>.</summary>
    public static void Compress(CompressionType type, int level, ReadOnlySpan<byte> source, IBufferWriter<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        switch (type)
        {
            case CompressionType.None:
                source.CopyTo(destination.GetSpan(source.Length));
                destination.Advance(source.Length);
                break;
            case CompressionType.Gzip:
                GzipCodec.Compress(level, source, destination);
                break;
            case CompressionType.Snappy:
                SnappyCodec.Compress(source, destination);
                break;
            case CompressionType.Lz4:
                Lz4Codec.Compress(level, source, destination);
                break;
            case CompressionType.Zstd:
                ZstdCodec.Compress(level, source, destination);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown compression type.");
        }
    }

    /// <summary>
    /// Appends the decompressed form of <paramref name="source"/> to <paramref name="destination"/>.
    /// Corrupt input raises <see cref="KafkaProtocolException"/> whichever codec noticed it.
    /// </summary>
    public static void Decompress(CompressionType type, ReadOnlySpan<byte> source, IBufferWriter<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        try
        {
            switch (type)
            {
                case CompressionType.None:
                    source.CopyTo(destination.GetSpan(source.Length));
                    destination.Advance(source.Length);
                    break;
                case CompressionType.Gzip:
                    GzipCodec.Decompress(source, destination);
                    break;
                case CompressionType.Snappy:
                    SnappyCodec.Decompress(source, destination);
                    break;
                case CompressionType.Lz4:
                    Lz4Codec.Decompress(source, destination);
                    break;
                case CompressionType.Zstd:
                    ZstdCodec.Decompress(source, destination);
                    break;
                default:
                    throw new KafkaProtocolException($"Unknown compression codec {(int)type} in record batch attributes.");
            }
        }
        catch (Exception ex) when (ex is not KafkaProtocolException and not OutOfMemoryException)
        {
            // The packages signal corrupt data with assorted exception types; callers only need
            // to know the bytes were bad and which codec said so.
            throw new KafkaProtocolException($"Could not decompress {type} data ({source.Length} bytes): {ex.Message}");
        }
    }
}
