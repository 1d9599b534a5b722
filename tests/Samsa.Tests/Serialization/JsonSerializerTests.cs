using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization;
using Samsa.Serialization;

namespace Samsa.Tests.Serialization;

public sealed record Order(int Id, string Customer, decimal Total);

[JsonSerializable(typeof(Order))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
internal sealed partial class TestJsonContext : JsonSerializerContext;

public sealed class JsonSerializerTests
{
    [Fact]
    public void SourceGenerated()
    {
        var serializer = new JsonSerializer<Order>(TestJsonContext.Default.Order);
        var bytes = SerializersTests.Bytes(serializer, new Order(1, "ada", 9.5m));
        Assert.Equal("""{"id":1,"customer":"ada","total":9.5}"""u8.ToArray(), bytes);
    }

    [Fact]
    [RequiresUnreferencedCode("test")]
    [RequiresDynamicCode("test")]
    public void WithOptions()
    {
        var serializer = new JsonSerializer<Order>(new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseUpper });
        Assert.Equal("""{"ID":2,"CUSTOMER":"bo","TOTAL":1}"""u8.ToArray(), SerializersTests.Bytes(serializer, new Order(2, "bo", 1m)));

        var defaults = new JsonSerializer<Order>();
        Assert.Equal("""{"Id":3,"Customer":"c","Total":0}"""u8.ToArray(), SerializersTests.Bytes(defaults, new Order(3, "c", 0m)));
    }

    [Fact]
    public void WriterIsReusedAcrossOutputsAndAppends()
    {
        var serializer = new JsonSerializer<Order>(TestJsonContext.Default.Order);
        var first = new ArrayBufferWriter<byte>();
        var second = new ArrayBufferWriter<byte>();
        second.Write("prefix:"u8);
        for (var i = 0; i < 3; i++)
        {
            serializer.Serialize(new Order(i, "x", 0m), first, SerializersTests.ValueContext);
        }

        serializer.Serialize(new Order(9, "y", 1m), second, SerializersTests.ValueContext);
        Assert.Equal("""{"id":0,"customer":"x","total":0}{"id":1,"customer":"x","total":0}{"id":2,"customer":"x","total":0}"""u8.ToArray(), first.WrittenSpan.ToArray());
        Assert.Equal("""prefix:{"id":9,"customer":"y","total":1}"""u8.ToArray(), second.WrittenSpan.ToArray());
    }

    [Fact]
    public void SteadyStateAllocatesNothing()
    {
        var serializer = new JsonSerializer<Order>(TestJsonContext.Default.Order);
        var output = new ArrayBufferWriter<byte>(4096);
        var order = new Order(1, "ada", 9.5m);
        for (var i = 0; i < 10; i++)
        {
            output.ResetWrittenCount();
            serializer.Serialize(order, output, SerializersTests.ValueContext);
        }

        output.ResetWrittenCount();
        var before = GC.GetAllocatedBytesForCurrentThread();
        serializer.Serialize(order, output, SerializersTests.ValueContext);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void ThreadsDoNotShareWriters()
    {
        var serializer = new JsonSerializer<Order>(TestJsonContext.Default.Order);
        Parallel.For(0, 64, i =>
        {
            var output = new ArrayBufferWriter<byte>();
            for (var j = 0; j < 50; j++)
            {
                output.ResetWrittenCount();
                serializer.Serialize(new Order(i, "p", j), output, SerializersTests.ValueContext);
                Assert.Equal(System.Text.Encoding.UTF8.GetBytes($$"""{"id":{{i}},"customer":"p","total":{{j}}}"""), output.WrittenSpan.ToArray());
            }
        });
    }
}
