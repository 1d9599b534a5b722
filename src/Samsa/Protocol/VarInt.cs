namespace Samsa.Protocol;

/// <summary>
/// Kafka's variable-length integers: unsigned LEB128, and zig-zag signed varint/varlong
/// as used by record batch v2 and by flexible versions' lengths and tags.
/// </summary>
internal static class VarInt
{
    public const int MaxLength32 = 5;
    public const int MaxLength64 = 10;

    public static int WriteUnsigned(Span<byte> destination, uint value)
    {
        var i = 0;
        while (value >= 0x80)
        {
            destination[i++] = (byte)(value | 0x80);
            value >>= 7;
        }

        destination[i++] = (byte)value;
        return i;
    }

    public static int WriteUnsigned64(Span<byte> destination, ulong value)
    {
        var i = 0;
        while (value >= 0x80)
        {
            destination[i++] = (byte)(value | 0x80);
            value >>= 7;
        }

        destination[i++] = (byte)value;
        return i;
    }

    public static int WriteSigned(Span<byte> destination, int value) => WriteUnsigned(destination, ZigZag(value));

    public static int WriteSigned64(Span<byte> destination, long value) => WriteUnsigned64(destination, ZigZag64(value));

    public static int SizeOfUnsigned(uint value)
    {
        // 7 payload bits per byte; a zero still takes one byte.
        var bits = 32 - System.Numerics.BitOperations.LeadingZeroCount(value | 1);
        return (bits + 6) / 7;
    }

    public static int SizeOfUnsigned64(ulong value)
    {
        var bits = 64 - System.Numerics.BitOperations.LeadingZeroCount(value | 1);
        return (bits + 6) / 7;
    }

    public static int SizeOfSigned(int value) => SizeOfUnsigned(ZigZag(value));

    public static int SizeOfSigned64(long value) => SizeOfUnsigned64(ZigZag64(value));

    public static uint ZigZag(int value) => (uint)((value << 1) ^ (value >> 31));

    public static ulong ZigZag64(long value) => (ulong)((value << 1) ^ (value >> 63));

    public static int UnZigZag(uint value) => (int)(value >> 1) ^ -(int)(value & 1);

    public static long UnZigZag64(ulong value) => (long)(value >> 1) ^ -(long)(value & 1);
}
