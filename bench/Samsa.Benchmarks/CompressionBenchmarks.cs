using System.Buffers;
using BenchmarkDotNet.Attributes;
using Samsa.Compression;

namespace Samsa.Benchmarks;

/// <summary>Compressing a 16 KiB records section (100 B JSON-like values, 1000 keys) at each codec's Kafka default level.</summary>
[MemoryDiagnoser]
public class CompressionBenchmarks
{
    private byte[] _body = [];
    private readonly ArrayBufferWriter<byte> _output = new(64 * 1024);

    [Params(CompressionType.Gzip, CompressionType.Snappy, CompressionType.Lz4, CompressionType.Zstd)]
    public CompressionType Codec { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _body = TestData.BatchBody(16 * 1024);
        _output.ResetWrittenCount();
        Compressor.Compress(Codec, Compressor.DefaultLevel, _body, _output);
        Console.WriteLine($"// {Codec}: {_body.Length} B -> {_output.WrittenCount} B");
    }

    [Benchmark]
    public int Compress16KiB()
    {
        _output.ResetWrittenCount();
        Compressor.Compress(Codec, Compressor.DefaultLevel, _body, _output);
        return _output.WrittenCount;
    }
}
