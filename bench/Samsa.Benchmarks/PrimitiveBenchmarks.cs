using BenchmarkDotNet.Attributes;
using Samsa.Records;

namespace Samsa.Benchmarks;

[MemoryDiagnoser]
public class PrimitiveBenchmarks
{
    private readonly byte[] _key16 = "customer-0000042"u8.ToArray();
    private byte[] _data16K = [];

    [GlobalSetup]
    public void Setup() => _data16K = TestData.BatchBody(16 * 1024);

    [Benchmark]
    public int Murmur2_16B() => Murmur2.Hash(_key16);

    [Benchmark]
    public uint Crc32C_16KiB() => Crc32C.Compute(_data16K);
}
