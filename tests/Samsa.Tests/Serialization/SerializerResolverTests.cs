using Samsa.Serialization;

namespace Samsa.Tests.Serialization;

public sealed class SerializerResolverTests
{
    private sealed record Custom(int X);

    private sealed class CustomSerializer : ISerializer<Custom>
    {
        public void Serialize(Custom value, System.Buffers.IBufferWriter<byte> output, in SerializationContext context)
        {
        }
    }

    [Fact]
    public void ExplicitWins()
    {
        var mine = new CustomSerializer();
        Assert.Same(mine, SerializerResolver.Resolve(mine, "org.apache.kafka.common.serialization.StringSerializer", "value.serializer"));
    }

    [Fact]
    public void DefaultsByType()
    {
        Assert.Same(Serializers.Utf8, SerializerResolver.Resolve<string>(null, null, "key.serializer"));
        Assert.Same(Serializers.ByteArray, SerializerResolver.Resolve<byte[]>(null, null, "key.serializer"));
        Assert.Same(Serializers.ReadOnlyMemory, SerializerResolver.Resolve<ReadOnlyMemory<byte>>(null, null, "key.serializer"));
        Assert.Same(Serializers.Int32, SerializerResolver.Resolve<int>(null, null, "key.serializer"));
        Assert.Same(Serializers.Int64, SerializerResolver.Resolve<long>(null, null, "key.serializer"));
        Assert.Same(Serializers.Double, SerializerResolver.Resolve<double>(null, null, "key.serializer"));
        Assert.Same(Serializers.Guid, SerializerResolver.Resolve<Guid>(null, null, "key.serializer"));
        Assert.Same(Serializers.Null, SerializerResolver.Resolve<Null>(null, "  ", "key.serializer"));
    }

    [Theory]
    [InlineData("org.apache.kafka.common.serialization.StringSerializer")]
    [InlineData("string")]
    [InlineData("String")]
    public void NamesString(string name) =>
        Assert.Same(Serializers.Utf8, SerializerResolver.Resolve<string>(null, name, "value.serializer"));

    [Fact]
    public void NamesOthers()
    {
        const string P = "org.apache.kafka.common.serialization.";
        Assert.Same(Serializers.ByteArray, SerializerResolver.Resolve<byte[]>(null, P + "ByteArraySerializer", "value.serializer"));
        Assert.Same(Serializers.ReadOnlyMemory, SerializerResolver.Resolve<ReadOnlyMemory<byte>>(null, P + "ByteBufferSerializer", "value.serializer"));
        Assert.Same(Serializers.ReadOnlyMemory, SerializerResolver.Resolve<ReadOnlyMemory<byte>>(null, "bytes", "value.serializer"));
        Assert.Same(Serializers.ByteArray, SerializerResolver.Resolve<byte[]>(null, P + "BytesSerializer", "value.serializer"));
        Assert.Same(Serializers.Int32, SerializerResolver.Resolve<int>(null, P + "IntegerSerializer", "value.serializer"));
        Assert.Same(Serializers.Int64, SerializerResolver.Resolve<long>(null, "long", "value.serializer"));
        Assert.Same(Serializers.Double, SerializerResolver.Resolve<double>(null, P + "DoubleSerializer", "value.serializer"));
        Assert.Same(Serializers.Guid, SerializerResolver.Resolve<Guid>(null, P + "UUIDSerializer", "value.serializer"));
        Assert.Same(Serializers.Null, SerializerResolver.Resolve<Null>(null, P + "VoidSerializer", "key.serializer"));
        Assert.Same(Serializers.Null, SerializerResolver.Resolve<Null>(null, "null", "key.serializer"));
    }

    [Fact]
    public void MismatchNamesKeySerializerAndType()
    {
        var e = Assert.Throws<ConfigException>(() =>
            SerializerResolver.Resolve<string>(null, "org.apache.kafka.common.serialization.IntegerSerializer", "value.serializer"));
        Assert.Equal("value.serializer", e.Key);
        Assert.StartsWith("'value.serializer' is IntegerSerializer, which serializes int, but the producer's value type is string.", e.Message);

        var k = Assert.Throws<ConfigException>(() => SerializerResolver.Resolve<long>(null, "uuid", "key.serializer"));
        Assert.StartsWith("'key.serializer' is uuid, which serializes Guid, but the producer's key type is long.", k.Message);
    }

    [Fact]
    public void NoDefaultForOtherTypes()
    {
        var e = Assert.Throws<ConfigException>(() => SerializerResolver.Resolve<Custom>(null, null, "value.serializer"));
        Assert.Equal("value.serializer", e.Key);
        Assert.Contains("SetValueSerializer", e.Message);
        Assert.Contains("'value.serializer'", e.Message);

        var k = Assert.Throws<ConfigException>(() => SerializerResolver.Resolve<float>(null, null, "key.serializer"));
        Assert.Contains("SetKeySerializer", k.Message);
        Assert.Contains("float", k.Message);
    }

    [Theory]
    [InlineData("io.confluent.kafka.serializers.KafkaAvroSerializer")]
    [InlineData("org.apache.kafka.common.serialization.stringserializer")]
    [InlineData("org.apache.kafka.common.serialization.ShortSerializer")]
    [InlineData("avro")]
    public void UnknownName(string name)
    {
        var e = Assert.Throws<ConfigException>(() => SerializerResolver.Resolve<string>(null, name, "value.serializer"));
        Assert.Equal("value.serializer", e.Key);
        Assert.Equal(name, e.Value);
        Assert.StartsWith($"Invalid value '{name}' for 'value.serializer': expected ", e.Message);
    }
}
