using System.Buffers;
using Samsa.Serialization;

namespace Samsa.Tests.Serialization;

public sealed class SerializersTests
{
    internal static readonly SerializationContext ValueContext = new(MessageComponentType.Value, "topic", null);

    internal static byte[] Bytes<T>(ISerializer<T> serializer, T value)
    {
        var output = new ArrayBufferWriter<byte>();
        serializer.Serialize(value, output, ValueContext);
        return output.WrittenSpan.ToArray();
    }

    [Theory]
    [InlineData(1, "00000001")]
    [InlineData(0, "00000000")]
    [InlineData(-1, "FFFFFFFF")]
    [InlineData(int.MinValue, "80000000")]
    [InlineData(0x01020304, "01020304")]
    public void Int32IsBigEndianAsJavaIntegerSerializer(int value, string hex) =>
        Assert.Equal(Convert.FromHexString(hex), Bytes(Serializers.Int32, value));

    [Theory]
    [InlineData(1L, "0000000000000001")]
    [InlineData(-2L, "FFFFFFFFFFFFFFFE")]
    [InlineData(0x0102030405060708L, "0102030405060708")]
    public void Int64IsBigEndianAsJavaLongSerializer(long value, string hex) =>
        Assert.Equal(Convert.FromHexString(hex), Bytes(Serializers.Int64, value));

    [Theory]
    [InlineData(1.5, "3FF8000000000000")]
    [InlineData(-2.0, "C000000000000000")]
    [InlineData(0.0, "0000000000000000")]
    [InlineData(double.PositiveInfinity, "7FF0000000000000")]
    public void DoubleIsBigEndianIeee754AsJavaDoubleSerializer(double value, string hex) =>
        Assert.Equal(Convert.FromHexString(hex), Bytes(Serializers.Double, value));

    [Fact]
    public void DoubleNaNIsJavasCanonicalNaN()
    {
        var oddNaN = BitConverter.Int64BitsToDouble(unchecked((long)0xFFF8000000000001UL));
        Assert.True(double.IsNaN(oddNaN));
        Assert.Equal(Convert.FromHexString("7FF8000000000000"), Bytes(Serializers.Double, oddNaN));
    }

    [Fact]
    public void GuidIsTheLowercaseStringFormAsJavaUuidSerializer()
    {
        var guid = Guid.Parse("0F8FAD5B-D9CB-469F-A165-70867728950E");
        Assert.Equal("0f8fad5b-d9cb-469f-a165-70867728950e"u8.ToArray(), Bytes(Serializers.Guid, guid));
    }

    [Fact]
    public void Utf8AsJavaStringSerializer()
    {
        Assert.Equal("héllo €"u8.ToArray(), Bytes(Serializers.Utf8, "héllo €"));
        Assert.Empty(Bytes(Serializers.Utf8, ""));
        Assert.Equal(Convert.FromHexString("F09F9880"), Bytes(Serializers.Utf8, "\U0001F600"));
    }

    [Fact]
    public void Utf8UnpairedSurrogateBecomesQuestionMarkAsInJava()
    {
        Assert.Equal(Convert.FromHexString("613F62"), Bytes(Serializers.Utf8, "a\uD800b"));
    }

    [Fact]
    public void Utf8LongString()
    {
        var s = new string('é', 10_000);
        Assert.Equal(System.Text.Encoding.UTF8.GetBytes(s), Bytes(Serializers.Utf8, s));
    }

    [Fact]
    public void BytesAreCopiedAsTheyAre()
    {
        byte[] data = [1, 2, 3];
        Assert.Equal(data, Bytes(Serializers.ByteArray, data));
        Assert.Equal(data, Bytes(Serializers.ReadOnlyMemory, new ReadOnlyMemory<byte>([0, 1, 2, 3, 4], 1, 3)));
        Assert.Empty(Bytes(Serializers.ByteArray, []));
    }

    [Fact]
    public void SerializersAreSingletons()
    {
        Assert.Same(Serializers.Utf8, Serializers.Utf8);
        Assert.Same(Serializers.Int32, Serializers.Int32);
    }

    [Fact]
    public void FixedSizeSerializersDoNotAllocate()
    {
        var output = new ArrayBufferWriter<byte>(1024);
        var guid = Guid.NewGuid();
        for (var i = 0; i < 10; i++)
        {
            Write(output, guid); // warm up
        }

        output.ResetWrittenCount();
        var before = GC.GetAllocatedBytesForCurrentThread();
        Write(output, guid);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);

        static void Write(ArrayBufferWriter<byte> output, Guid guid)
        {
            output.ResetWrittenCount();
            Serializers.Int32.Serialize(1, output, ValueContext);
            Serializers.Int64.Serialize(2, output, ValueContext);
            Serializers.Double.Serialize(3.0, output, ValueContext);
            Serializers.Guid.Serialize(guid, output, ValueContext);
            Serializers.Utf8.Serialize("some key", output, ValueContext);
        }
    }
}
