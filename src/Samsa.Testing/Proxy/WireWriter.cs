using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Samsa.Testing.Proxy;

/// <summary>
/// Builds a frame of Kafka's wire types by hand (big-endian integers, varints, classic and compact strings/arrays),
/// the counterpart of <see cref="WireReader"/>; <see cref="Framed"/> prefixes what was written with its size.
/// </summary>
internal sealed class WireWriter
{
    private readonly ArrayBufferWriter<byte> _buffer = new();

    public void Int16(short v)
    {
        BinaryPrimitives.WriteInt16BigEndian(_buffer.GetSpan(2), v);
        _buffer.Advance(2);
    }

    public void Int32(int v)
    {
        BinaryPrimitives.WriteInt32BigEndian(_buffer.GetSpan(4), v);
        _buffer.Advance(4);
    }

    public void Int64(long v)
    {
        BinaryPrimitives.WriteInt64BigEndian(_buffer.GetSpan(8), v);
        _buffer.Advance(8);
    }

    public void Bytes(ReadOnlySpan<byte> bytes) => _buffer.Write(bytes);

    /// <summary>Bytes after their length: int32 (classic) or uvarint length+1 (compact).</summary>
    public void PrefixedBytes(ReadOnlySpan<byte> bytes, bool compact)
    {
        ArrayLength(bytes.Length, compact);
        Bytes(bytes);
    }

    /// <summary>An array length: int32 (classic) or uvarint length+1 (compact).</summary>
    public void ArrayLength(int count, bool compact)
    {
        if (compact)
        {
            UVarInt((uint)(count + 1));
        }
        else
        {
            Int32(count);
        }
    }

    /// <summary>A string: int16 length (classic) or uvarint length+1 (compact).</summary>
    public void String(string s, bool compact)
    {
        var bytes = Encoding.UTF8.GetBytes(s);
        if (compact)
        {
            UVarInt((uint)bytes.Length + 1);
        }
        else
        {
            Int16((short)bytes.Length);
        }

        Bytes(bytes);
    }

    /// <summary>A nullable string: null is length -1 (classic) or 0 (compact).</summary>
    public void NullableString(string? s, bool compact)
    {
        if (s is not null)
        {
            String(s, compact);
        }
        else if (compact)
        {
            UVarInt(0);
        }
        else
        {
            Int16(-1);
        }
    }

    /// <summary>An empty tagged-field section.</summary>
    public void Tags() => UVarInt(0);

    /// <summary>An empty tagged-field section when <paramref name="flexible"/>.</summary>
    public void TagsIf(bool flexible)
    {
        if (flexible)
        {
            Tags();
        }
    }

    /// <summary>What was written, prefixed with its size.</summary>
    public byte[] Framed()
    {
        var body = _buffer.WrittenSpan;
        var frame = new byte[4 + body.Length];
        BinaryPrimitives.WriteInt32BigEndian(frame, body.Length);
        body.CopyTo(frame.AsSpan(4));
        return frame;
    }

    private void UVarInt(uint v)
    {
        while (v >= 0x80)
        {
            _buffer.Write([(byte)(v | 0x80)]);
            v >>= 7;
        }

        _buffer.Write([(byte)v]);
    }
}
