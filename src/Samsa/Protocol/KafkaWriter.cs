using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Samsa.Protocol;

/// <summary>
/// Writes Kafka's primitive types, big-endian, into an <see cref="IBufferWriter{T}"/>.
/// Used by the generated messages; the record batch hot path writes spans directly.
/// </summary>
internal readonly struct KafkaWriter(IBufferWriter<byte> output)
{
    public IBufferWriter<byte> Output { get; } = output;

    public void WriteInt8(sbyte value)
    {
        Output.GetSpan(1)[0] = (byte)value;
        Output.Advance(1);
    }

    public void WriteBoolean(bool value) => WriteInt8(value ? (sbyte)1 : (sbyte)0);

    public void WriteInt16(short value)
    {
        BinaryPrimitives.WriteInt16BigEndian(Output.GetSpan(2), value);
        Output.Advance(2);
    }

    public void WriteUInt16(ushort value)
    {
        BinaryPrimitives.WriteUInt16BigEndian(Output.GetSpan(2), value);
        Output.Advance(2);
    }

    public void WriteInt32(int value)
    {
        BinaryPrimitives.WriteInt32BigEndian(Output.GetSpan(4), value);
        Output.Advance(4);
    }

    public void WriteUInt32(uint value)
    {
        BinaryPrimitives.WriteUInt32BigEndian(Output.GetSpan(4), value);
        Output.Advance(4);
    }

    public void WriteInt64(long value)
    {
        BinaryPrimitives.WriteInt64BigEndian(Output.GetSpan(8), value);
        Output.Advance(8);
    }

    public void WriteFloat64(double value)
    {
        BinaryPrimitives.WriteDoubleBigEndian(Output.GetSpan(8), value);
        Output.Advance(8);
    }

    /// <summary>Kafka's UUID is 16 bytes, most significant first (Java's <c>Uuid</c> layout).</summary>
    public void WriteUuid(Guid value)
    {
        value.TryWriteBytes(Output.GetSpan(16), bigEndian: true, out _);
        Output.Advance(16);
    }

    public void WriteUnsignedVarInt(uint value)
    {
        var span = Output.GetSpan(VarInt.MaxLength32);
        Output.Advance(VarInt.WriteUnsigned(span, value));
    }

    public void WriteVarInt(int value)
    {
        var span = Output.GetSpan(VarInt.MaxLength32);
        Output.Advance(VarInt.WriteSigned(span, value));
    }

    public void WriteVarLong(long value)
    {
        var span = Output.GetSpan(VarInt.MaxLength64);
        Output.Advance(VarInt.WriteSigned64(span, value));
    }

    public void WriteRaw(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty)
        {
            return;
        }

        bytes.CopyTo(Output.GetSpan(bytes.Length));
        Output.Advance(bytes.Length);
    }

    /// <summary>INT16 length, then UTF-8; null is length -1.</summary>
    public void WriteString(string? value)
    {
        if (value is null)
        {
            WriteInt16(-1);
            return;
        }

        var length = Encoding.UTF8.GetByteCount(value);
        if (length > short.MaxValue)
        {
            throw new ArgumentException($"A Kafka STRING holds at most {short.MaxValue} UTF-8 bytes; this one has {length}.", nameof(value));
        }

        WriteInt16((short)length);
        WriteUtf8(value, length);
    }

    /// <summary>Unsigned varint of length + 1, then UTF-8; null is 0.</summary>
    public void WriteCompactString(string? value)
    {
        if (value is null)
        {
            WriteUnsignedVarInt(0);
            return;
        }

        var length = Encoding.UTF8.GetByteCount(value);
        WriteUnsignedVarInt((uint)length + 1);
        WriteUtf8(value, length);
    }

    /// <summary>INT32 length, then the bytes; null is length -1.</summary>
    public void WriteBytes(ReadOnlySpan<byte> value, bool isNull = false)
    {
        if (isNull)
        {
            WriteInt32(-1);
            return;
        }

        WriteInt32(value.Length);
        WriteRaw(value);
    }

    /// <summary>Unsigned varint of length + 1, then the bytes; null is 0.</summary>
    public void WriteCompactBytes(ReadOnlySpan<byte> value, bool isNull = false)
    {
        if (isNull)
        {
            WriteUnsignedVarInt(0);
            return;
        }

        WriteUnsignedVarInt((uint)value.Length + 1);
        WriteRaw(value);
    }

    /// <summary>INT32 element count; null is -1.</summary>
    public void WriteArrayLength(int count) => WriteInt32(count);

    /// <summary>Unsigned varint of count + 1; null (count -1) is 0.</summary>
    public void WriteCompactArrayLength(int count) => WriteUnsignedVarInt((uint)(count + 1));

    /// <summary>A flexible-version structure with no tagged fields set.</summary>
    public void WriteEmptyTaggedFields() => WriteUnsignedVarInt(0);

    private void WriteUtf8(string value, int length)
    {
        if (length == 0)
        {
            return;
        }

        var written = Encoding.UTF8.GetBytes(value, Output.GetSpan(length));
        Output.Advance(written);
    }
}
