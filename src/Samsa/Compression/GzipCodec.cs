using System.Buffers;
using System.IO.Compression;

namespace Samsa.Compression;

/// <summary>
/// gzip through the runtime's own zlib (System.IO.Compression), so no package is needed.
/// </summary>
/// <remarks>
/// Level mapping from Kafka's gzip levels (1-9, -1 = default): on .NET 9 and later the level is
/// passed to zlib as is, exactly like Java's <c>Deflater</c>. On .NET 8 only the
/// <see cref="CompressionLevel"/> enum exists, so 1-3 map to <see cref="CompressionLevel.Fastest"/>
/// (zlib 1), -1 and 4-6 to <see cref="CompressionLevel.Optimal"/> (zlib 6, Java's default), and
/// 7-9 to <see cref="CompressionLevel.SmallestSize"/> (zlib 9).
/// </remarks>
internal static class GzipCodec
{
    public const int DefaultLevel = -1;

    public static void Compress(int level, ReadOnlySpan<byte> source, IBufferWriter<byte> destination)
    {
        if (level == Compressor.DefaultLevel)
        {
            level = DefaultLevel;
        }

        using var output = new BufferWriterStream(destination);
#if NET9_0_OR_GREATER
        var options = new ZLibCompressionOptions
        {
            CompressionLevel = level < 0 ? -1 : Math.Min(level, 9),
            CompressionStrategy = ZLibCompressionStrategy.Default,
        };
        using (var gzip = new GZipStream(output, options, leaveOpen: true))
#else
        using (var gzip = new GZipStream(output, MapLevel(level), leaveOpen: true))
#endif
        {
            gzip.Write(source);
        }
    }

    public static void Decompress(ReadOnlySpan<byte> source, IBufferWriter<byte> destination)
    {
        // GZipStream only reads from a Stream; the copy is acceptable because decompression is
        // off the producer's hot path (tests, verifier).
        var rented = ArrayPool<byte>.Shared.Rent(Math.Max(source.Length, 1));
        try
        {
            source.CopyTo(rented);
            using var input = new MemoryStream(rented, 0, source.Length, writable: false);
            using var gzip = new GZipStream(input, CompressionMode.Decompress);
            while (true)
            {
                var span = destination.GetSpan(16 * 1024);
                var read = gzip.Read(span);
                if (read == 0)
                {
                    break;
                }

                destination.Advance(read);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

#if !NET9_0_OR_GREATER
    private static CompressionLevel MapLevel(int level) => level switch
    {
        < 0 => CompressionLevel.Optimal,
        0 => CompressionLevel.NoCompression,
        <= 3 => CompressionLevel.Fastest,
        <= 6 => CompressionLevel.Optimal,
        _ => CompressionLevel.SmallestSize,
    };
#endif
}
