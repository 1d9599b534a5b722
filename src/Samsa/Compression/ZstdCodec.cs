using System.Buffers;
using ZstdSharp;

namespace Samsa.Compression;

/// <summary>zstd through ZstdSharp.Port, a managed port of the reference library.</summary>
internal static class ZstdCodec
{
    public const int DefaultLevel = 3;

    // A compression context holds a few hundred KiB of tables; making one per batch would cost
    // more than compressing a small batch, so each sender thread keeps its own.
    [ThreadStatic]
    private static ZstdSharp.Compressor? t_compressor;

    public static void Compress(int level, ReadOnlySpan<byte> source, IBufferWriter<byte> destination)
    {
        level = level == Compressor.DefaultLevel
            ? DefaultLevel
            : Math.Clamp(level, ZstdSharp.Compressor.MinCompressionLevel, ZstdSharp.Compressor.MaxCompressionLevel);

        var compressor = t_compressor ??= new ZstdSharp.Compressor(level);
        if (compressor.Level != level)
        {
            compressor.Level = level;
        }

        // One-shot compression knows the input size, so the frame header carries the content
        // size and a consumer can size its output buffer up front.
        var span = destination.GetSpan(ZstdSharp.Compressor.GetCompressBound(source.Length));
        var written = compressor.Wrap(source, span);
        destination.Advance(written);
    }

    public static void Decompress(ReadOnlySpan<byte> source, IBufferWriter<byte> destination)
    {
        if (source.IsEmpty)
        {
            return;
        }

        // Java's ZstdOutputStream writes frames without a content size, so decode as a stream
        // rather than trusting the header; that also handles concatenated frames.
        var rented = ArrayPool<byte>.Shared.Rent(source.Length);
        try
        {
            source.CopyTo(rented);
            using var input = new MemoryStream(rented, 0, source.Length, writable: false);
            using var zstd = new DecompressionStream(input);
            while (true)
            {
                var span = destination.GetSpan(64 * 1024);
                var read = zstd.Read(span);
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
}
