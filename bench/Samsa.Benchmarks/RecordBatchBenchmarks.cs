using System.Text;
using BenchmarkDotNet.Attributes;
using Samsa.Records;

namespace Samsa.Benchmarks;

/// <summary>
/// Encoding records into a v2 record batch. PartitionAccumulator.Append is not benchmarked: it needs a
/// live ProducerEngine (metadata, buffer memory, senders), so RecordBatchBuilder.TryAppend, which is
/// the encoding it does under its lock, stands in for it.
/// </summary>
[MemoryDiagnoser]
public class RecordBatchBenchmarks
{
    private const int Records = 100;
    private readonly byte[][] _keys = new byte[Records][];
    private byte[] _value = [];
    private RecordBatchBuilder _builder = null!;

    [GlobalSetup]
    public void Setup()
    {
        for (var i = 0; i < Records; i++)
        {
            _keys[i] = Encoding.UTF8.GetBytes($"key-{i}");
        }

        _value = TestData.JsonValue(new Random(1), 0, 100);
        _builder = new RecordBatchBuilder(16384);
    }

    [GlobalCleanup]
    public void Cleanup() => _builder.Dispose();

    /// <summary>Reset, append 100 records of 100 B (7-byte keys), seal uncompressed (CRC included): one op = one batch.</summary>
    [Benchmark]
    public int EncodeBatch100x100B()
    {
        var b = _builder;
        b.Reset();
        var ts = 1_700_000_000_000L;
        for (var i = 0; i < Records; i++)
        {
            b.TryAppend(ts + i, _keys[i], false, _value, false, null, 16384);
        }

        return b.Seal(CompressionType.None, 0, 1000, 0, 0, false).Length;
    }

    /// <summary>TryAppend alone, per record (the accumulator's encoding step).</summary>
    [Benchmark(OperationsPerInvoke = Records)]
    public bool TryAppendPerRecord()
    {
        var b = _builder;
        b.Reset();
        var ts = 1_700_000_000_000L;
        var ok = true;
        for (var i = 0; i < Records; i++)
        {
            ok &= b.TryAppend(ts + i, _keys[i], false, _value, false, null, 16384);
        }

        return ok;
    }
}
