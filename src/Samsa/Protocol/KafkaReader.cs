using System.Buffers.Binary;
using System.Text;

namespace Samsa.Protocol;

/// <summary>
/// Reads Kafka's primitive types, big-endian, from a span. A read past the end, or a length
/// that cannot be right, puts the reader in a failed state that it never leaves: every later
/// read returns a default value, so a decoder can read a whole message and check
/// <see cref="Failed"/> once at the end instead of after every field.
/// </summary>
internal ref struct KafkaReader(ReadOnlySpan<byte> buffer)
{
    private readonly ReadOnlySpan<byte> _buffer = buffer;
    private int _position;

    public readonly int Position => _position;

    public readonly int Remaining => Failed ? 0 : _buffer.Length - _position;

    public bool Failed { get; private set; }

    /// <summary>What went wrong first, for the exception the caller raises.</summary>
    public string? FailureReason { get; private set; }

    public void Fail(string reason)
    {
        if (!Failed)
        {
            Failed = true;
            FailureReason = $"{reason} at byte {_position} of {_buffer.Length}";
        }
    }

    public readonly void ThrowIfFailed(string what)
    {
        if (Failed)
        {
            throw new KafkaProtocolException($"Could not decode {what}: {FailureReason}.");
        }
    }

    public ReadOnlySpan<byte> ReadRaw(int length)
    {
        if (Failed)
        {
            return default;
        }

        if (length < 0 || length > _buffer.Length - _position)
        {
            Fail($"needed {length} bytes, {_buffer.Length - _position} left");
            return default;
        }

        var span = _buffer.Slice(_position, length);
        _position += length;
        return span;
    }

    public void Skip(int length) => ReadRaw(length);

    public sbyte ReadInt8()
    {
        var span = ReadRaw(1);
        return span.IsEmpty ? (sbyte)0 : (sbyte)span[0];
    }

    public bool ReadBoolean() => ReadInt8() != 0;

    public short ReadInt16()
    {
        var span = ReadRaw(2);
        return span.IsEmpty ? (short)0 : BinaryPrimitives.ReadInt16BigEndian(span);
    }

    public ushort ReadUInt16()
    {
        var span = ReadRaw(2);
        return span.IsEmpty ? (ushort)0 : BinaryPrimitives.ReadUInt16BigEndian(span);
    }

    public int ReadInt32()
    {
        var span = ReadRaw(4);
        return span.IsEmpty ? 0 : BinaryPrimitives.ReadInt32BigEndian(span);
    }

    public uint ReadUInt32()
    {
        var span = ReadRaw(4);
        return span.IsEmpty ? 0 : BinaryPrimitives.ReadUInt32BigEndian(span);
    }

    public long ReadInt64()
    {
        var span = ReadRaw(8);
        return span.IsEmpty ? 0 : BinaryPrimitives.ReadInt64BigEndian(span);
    }

    public double ReadFloat64()
    {
        var span = ReadRaw(8);
        return span.IsEmpty ? 0 : BinaryPrimitives.ReadDoubleBigEndian(span);
    }

    public Guid ReadUuid()
    {
        var span = ReadRaw(16);
        return span.IsEmpty ? Guid.Empty : new Guid(span, bigEndian: true);
    }

    public ulong ReadUnsignedVarLong()
    {
        ulong result = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (Failed || _position >= _buffer.Length)
            {
                Fail("varint ran past the end");
                return 0;
            }

            var b = _buffer[_position++];
            result |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return result;
            }
        }

        Fail("varint longer than 10 bytes");
        return 0;
    }

    public uint ReadUnsignedVarInt()
    {
        var value = ReadUnsignedVarLong();
        if (value > uint.MaxValue)
        {
            Fail("unsigned varint does not fit 32 bits");
            return 0;
        }

        return (uint)value;
    }

    public int ReadVarInt()
    {
        var raw = ReadUnsignedVarLong();
        if (raw > uint.MaxValue)
        {
            Fail("varint does not fit 32 bits");
            return 0;
        }

        return VarInt.UnZigZag((uint)raw);
    }

    public long ReadVarLong() => VarInt.UnZigZag64(ReadUnsignedVarLong());

    public string? ReadString() => ReadUtf8(ReadInt16());

    public string? ReadCompactString() => ReadUtf8((int)ReadUnsignedVarInt() - 1);

    public byte[]? ReadBytes() => ReadByteArray(ReadInt32());

    public byte[]? ReadCompactBytes() => ReadByteArray((int)ReadUnsignedVarInt() - 1);

    /// <summary>Element count of a classic array; -1 means null.</summary>
    public int ReadArrayLength() => CheckCount(ReadInt32());

    /// <summary>Element count of a compact array; -1 means null.</summary>
    public int ReadCompactArrayLength() => CheckCount((int)ReadUnsignedVarInt() - 1);

    /// <summary>Skips every tagged field of a structure; used where the decoder knows none of them.</summary>
    public void SkipTaggedFields()
    {
        var count = ReadUnsignedVarInt();
        for (var i = 0u; i < count && !Failed; i++)
        {
            ReadUnsignedVarInt();
            Skip((int)ReadUnsignedVarInt());
        }
    }

    private int CheckCount(int count)
    {
        // Every element takes at least one byte, so a count beyond what is left is corrupt data,
        // and rejecting it here stops a bad length from allocating a huge list.
        if (count < -1 || count > Remaining)
        {
            Fail($"array length {count} is impossible");
            return Failed ? -1 : count;
        }

        return count;
    }

    private string? ReadUtf8(int length)
    {
        if (length == -1 || Failed)
        {
            return null;
        }

        var span = ReadRaw(length);
        return Failed ? null : Encoding.UTF8.GetString(span);
    }

    private byte[]? ReadByteArray(int length)
    {
        if (length == -1 || Failed)
        {
            return null;
        }

        var span = ReadRaw(length);
        return Failed ? null : span.ToArray();
    }
}
