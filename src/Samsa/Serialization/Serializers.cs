using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Samsa.Serialization;

/// <summary>
/// The built-in serializers, each producing the same bytes as the Java client's serializer of the same
/// kind, and each a singleton that allocates nothing.
/// </summary>
public static class Serializers
{
    /// <summary>UTF-8, as Java's <c>StringSerializer</c>; an unpaired surrogate becomes '?' as in Java.</summary>
    public static ISerializer<string> Utf8 { get; } = new Utf8Serializer();

    /// <summary>The bytes as they are, as Java's <c>ByteArraySerializer</c>.</summary>
    public static ISerializer<byte[]> ByteArray { get; } = new ByteArraySerializer();

    /// <summary>The bytes as they are, as Java's <c>ByteBufferSerializer</c>/<c>BytesSerializer</c>.</summary>
    public static ISerializer<ReadOnlyMemory<byte>> ReadOnlyMemory { get; } = new ReadOnlyMemorySerializer();

    // The names follow the .NET types they serialize (Serializers.Int32 for int), which is the point.
#pragma warning disable CA1720 // Identifier contains type name

    /// <summary>4 bytes big-endian, as Java's <c>IntegerSerializer</c>.</summary>
    public static ISerializer<int> Int32 { get; } = new Int32Serializer();

    /// <summary>8 bytes big-endian, as Java's <c>LongSerializer</c>.</summary>
    public static ISerializer<long> Int64 { get; } = new Int64Serializer();

    /// <summary>8 bytes big-endian IEEE 754, as Java's <c>DoubleSerializer</c> (every NaN as the canonical 7FF8000000000000).</summary>
    public static ISerializer<double> Double { get; } = new DoubleSerializer();

    /// <summary>
    /// The UTF-8 of the 36-character lowercase string form (e.g. <c>0f8fad5b-d9cb-469f-a165-70867728950e</c>), as
    /// Java's <c>UUIDSerializer</c> writes it; this is for Java compatibility, not 16 raw bytes.
    /// </summary>
    public static ISerializer<System.Guid> Guid { get; } = new GuidSerializer();
#pragma warning restore CA1720

    /// <summary>For <see cref="Samsa.Null"/>: never called, because a <see cref="Samsa.Null"/> key or value is always null.</summary>
    public static ISerializer<Samsa.Null> Null { get; } = new NullSerializer();

    private sealed class Utf8Serializer : ISerializer<string>
    {
        // Java's String.getBytes(UTF_8) replaces an unpaired surrogate with '?', where .NET would write
        // U+FFFD; keys must hash the same as from Java, so match it.
        private static readonly Encoding s_javaUtf8 = CreateJavaUtf8();

        public void Serialize(string value, IBufferWriter<byte> output, in SerializationContext context)
        {
            if (value.Length == 0)
            {
                return;
            }

            // Asking for the worst case is cheap for short strings; count exactly for long ones.
            var size = value.Length <= 4096 ? s_javaUtf8.GetMaxByteCount(value.Length) : s_javaUtf8.GetByteCount(value);
            var span = output.GetSpan(size);
            var written = s_javaUtf8.GetBytes(value, span);
            output.Advance(written);
        }

        private static Encoding CreateJavaUtf8()
        {
            var encoding = (Encoding)new UTF8Encoding(encoderShouldEmitUTF8Identifier: false).Clone();
            encoding.EncoderFallback = new EncoderReplacementFallback("?");
            return encoding;
        }
    }

    private sealed class ByteArraySerializer : ISerializer<byte[]>
    {
        public void Serialize(byte[] value, IBufferWriter<byte> output, in SerializationContext context) =>
            output.Write(value);
    }

    private sealed class ReadOnlyMemorySerializer : ISerializer<ReadOnlyMemory<byte>>
    {
        public void Serialize(ReadOnlyMemory<byte> value, IBufferWriter<byte> output, in SerializationContext context) =>
            output.Write(value.Span);
    }

    private sealed class Int32Serializer : ISerializer<int>
    {
        public void Serialize(int value, IBufferWriter<byte> output, in SerializationContext context)
        {
            BinaryPrimitives.WriteInt32BigEndian(output.GetSpan(4), value);
            output.Advance(4);
        }
    }

    private sealed class Int64Serializer : ISerializer<long>
    {
        public void Serialize(long value, IBufferWriter<byte> output, in SerializationContext context)
        {
            BinaryPrimitives.WriteInt64BigEndian(output.GetSpan(8), value);
            output.Advance(8);
        }
    }

    private sealed class DoubleSerializer : ISerializer<double>
    {
        private const long JavaCanonicalNaN = 0x7ff8000000000000L;

        public void Serialize(double value, IBufferWriter<byte> output, in SerializationContext context)
        {
            // Java's doubleToLongBits collapses every NaN to one bit pattern.
            var bits = double.IsNaN(value) ? JavaCanonicalNaN : BitConverter.DoubleToInt64Bits(value);
            BinaryPrimitives.WriteInt64BigEndian(output.GetSpan(8), bits);
            output.Advance(8);
        }
    }

    private sealed class GuidSerializer : ISerializer<System.Guid>
    {
        public void Serialize(System.Guid value, IBufferWriter<byte> output, in SerializationContext context)
        {
            var span = output.GetSpan(36);
            // "D" is 8-4-4-4-12 lowercase hex, the same text as java.util.UUID.toString().
            value.TryFormat(span, out var written, "D");
            output.Advance(written);
        }
    }

    private sealed class NullSerializer : ISerializer<Samsa.Null>
    {
        public void Serialize(Samsa.Null value, IBufferWriter<byte> output, in SerializationContext context)
        {
            // Nothing to write: no Null instance can exist, and a null key or value never reaches a serializer.
        }
    }
}
