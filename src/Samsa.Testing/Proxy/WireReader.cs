using System.Buffers.Binary;
using System.Text;

namespace Samsa.Testing.Proxy;

/// <summary>
/// A forward-only reader of Kafka's wire types (big-endian integers, varints, classic and compact
/// strings/arrays/bytes). The test kit has its own because it must not depend on the Samsa library
/// it is used to check. A truncated or malformed input throws <see cref="FormatException"/>.
/// </summary>
internal ref struct WireReader(ReadOnlySpan<byte> buffer)
{
    private readonly ReadOnlySpan<byte> _buffer = buffer;

    public int Position { get; private set; }

    public readonly int Remaining => _buffer.Length - Position;

    public sbyte ReadInt8() => (sbyte)Take(1)[0];

    public short ReadInt16() => BinaryPrimitives.ReadInt16BigEndian(Take(2));

    public int ReadInt32() => BinaryPrimitives.ReadInt32BigEndian(Take(4));

    public uint ReadUInt32() => BinaryPrimitives.ReadUInt32BigEndian(Take(4));

    public long ReadInt64() => BinaryPrimitives.ReadInt64BigEndian(Take(8));

    /// <summary>Unsigned LEB128, as used by compact lengths and tagged fields.</summary>
    public uint ReadUVarInt()
    {
        uint value = 0;
        for (var shift = 0; shift < 35; shift += 7)
        {
            var b = Take(1)[0];
            value |= (uint)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return value;
            }
        }

        throw new FormatException("Unsigned varint longer than 5 bytes.");
    }

    /// <summary>Zig-zag varint, as used inside v2 records.</summary>
    public int ReadVarInt()
    {
        var raw = ReadUVarInt();
        return (int)(raw >> 1) ^ -(int)(raw & 1);
    }

    /// <summary>Zig-zag varlong, as used by record timestamp deltas.</summary>
    public long ReadVarLong()
    {
        ulong raw = 0;
        for (var shift = 0; shift < 70; shift += 7)
        {
            var b = Take(1)[0];
            raw |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return (long)(raw >> 1) ^ -(long)(raw & 1);
            }
        }

        throw new FormatException("Varlong longer than 10 bytes.");
    }

    /// <summary>A string: int16 length (classic) or uvarint length+1 (compact); null when the length is -1 / 0.</summary>
    public string? ReadString(bool compact)
    {
        var length = compact ? (int)ReadUVarInt() - 1 : ReadInt16();
        return length < 0 ? null : Encoding.UTF8.GetString(Take(length));
    }

    /// <summary>An array length: int32 (classic) or uvarint length+1 (compact); -1 for a null array.</summary>
    public int ReadArrayLength(bool compact) => compact ? (int)ReadUVarInt() - 1 : ReadInt32();

    /// <summary>Nullable bytes: int32 length (classic) or uvarint length+1 (compact).</summary>
    public ReadOnlySpan<byte> ReadBytes(bool compact, out bool isNull)
    {
        var length = compact ? (int)ReadUVarInt() - 1 : ReadInt32();
        isNull = length < 0;
        return isNull ? default : Take(length);
    }

    /// <summary>Skips a tagged-field section (flexible versions): count, then (tag, size, data) each.</summary>
    public void SkipTaggedFields()
    {
        var count = ReadUVarInt();
        for (var i = 0; i < count; i++)
        {
            _ = ReadUVarInt();
            Skip((int)ReadUVarInt());
        }
    }

    public void Skip(int count) => Take(count);

    public ReadOnlySpan<byte> Take(int count)
    {
        if (count < 0 || count > Remaining)
        {
            throw new FormatException($"Needed {count} bytes at offset {Position}, {Remaining} left.");
        }

        var span = _buffer.Slice(Position, count);
        Position += count;
        return span;
    }
}
