using System.Buffers.Binary;
using System.Text;

namespace Samsa.Testing.Proxy;

/// <summary>Reads one partition's fields (its tagged fields included) for <see cref="WireReader.ReadTopics"/>.</summary>
internal delegate void PartitionReader(ref WireReader reader, string topic);

/// <summary>
/// A forward-only reader of Kafka's wire types (big-endian integers, varints, classic and compact
/// strings/arrays/bytes). The test kit has its own because it must not depend on the Samsa library
/// it is used to check. A truncated or malformed input throws <see cref="FormatException"/>.
/// </summary>
internal ref struct WireReader(ReadOnlySpan<byte> buffer)
{
    private readonly ReadOnlySpan<byte> _buffer = buffer;

    /// <summary>A reader positioned at the body of <paramref name="request"/> (without its size prefix): past api key,
    /// version, correlation id, client id (a classic string in every header version) and, from header v2, tagged fields.</summary>
    public static WireReader AtRequestBody(ReadOnlySpan<byte> request, bool flexibleHeader)
    {
        var r = new WireReader(request);
        r.Skip(8); // api key, version, correlation id
        _ = r.ReadString(compact: false); // client id
        r.SkipTaggedFieldsIf(flexibleHeader);
        return r;
    }

    /// <summary>A reader positioned at the body of <paramref name="response"/> (without its size prefix): past the
    /// correlation id and, from header v1, tagged fields.</summary>
    public static WireReader AtResponseBody(ReadOnlySpan<byte> response, bool flexibleHeader)
    {
        var r = new WireReader(response);
        _ = r.ReadInt32(); // correlation id
        r.SkipTaggedFieldsIf(flexibleHeader);
        return r;
    }

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

    /// <summary>Reads the common array of topics, each a name and an array of partitions, then tagged fields when
    /// <paramref name="flexible"/>; <paramref name="readPartition"/> reads each partition.</summary>
    public void ReadTopics(bool flexible, PartitionReader readPartition)
    {
        var topics = ReadArrayLength(flexible);
        for (var t = 0; t < topics; t++)
        {
            var topic = ReadString(flexible) ?? "";
            var partitions = ReadArrayLength(flexible);
            for (var p = 0; p < partitions; p++)
            {
                readPartition(ref this, topic);
            }

            SkipTaggedFieldsIf(flexible);
        }
    }

    /// <summary>Skips a tagged-field section when <paramref name="flexible"/>.</summary>
    public void SkipTaggedFieldsIf(bool flexible)
    {
        if (flexible)
        {
            SkipTaggedFields();
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
