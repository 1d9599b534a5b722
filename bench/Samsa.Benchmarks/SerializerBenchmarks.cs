using System.Buffers;
using BenchmarkDotNet.Attributes;
using Samsa.Serialization;

namespace Samsa.Benchmarks;

/// <summary>The built-in serializers writing into a reused buffer writer.</summary>
[MemoryDiagnoser]
public class SerializerBenchmarks
{
    private readonly ArrayBufferWriter<byte> _output = new(1024);
    private readonly SerializationContext _keyContext = new(MessageComponentType.Key, "bench", null);
    private readonly SerializationContext _valueContext = new(MessageComponentType.Value, "bench", null);
    private readonly string _key = "key-123";
    private readonly byte[] _value100 = new byte[100];

    [Benchmark]
    public int Utf8StringKey()
    {
        _output.ResetWrittenCount();
        Serializers.Utf8.Serialize(_key, _output, _keyContext);
        return _output.WrittenCount;
    }

    [Benchmark]
    public int Int32Value()
    {
        _output.ResetWrittenCount();
        Serializers.Int32.Serialize(123456789, _output, _keyContext);
        return _output.WrittenCount;
    }

    [Benchmark]
    public int ByteArray100B()
    {
        _output.ResetWrittenCount();
        Serializers.ByteArray.Serialize(_value100, _output, _valueContext);
        return _output.WrittenCount;
    }
}
