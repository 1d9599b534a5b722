using System.Buffers.Binary;
using System.Numerics;

namespace Samsa.Records;

/// <summary>
/// CRC-32C (Castagnoli), the checksum of record batch v2. <see cref="BitOperations.Crc32C(uint, ulong)"/>
/// uses the SSE4.2 / ARMv8 CRC instructions when the CPU has them and a table otherwise, so this
/// stays a thin loop instead of carrying its own tables.
/// </summary>
internal static class Crc32C
{
    /// <summary>The checksum of <paramref name="data"/>, with the standard pre- and post-inversion.</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => ~Update(uint.MaxValue, data);

    /// <summary>
    /// Feeds <paramref name="data"/> into a raw (not inverted) CRC state, so a checksum over
    /// several pieces is <c>~Update(Update(0xFFFFFFFF, a), b)</c>.
    /// </summary>
    public static uint Update(uint state, ReadOnlySpan<byte> data)
    {
        var crc = state;

        // The instruction consumes a 64-bit word as eight bytes in little-endian order, so reading
        // the word little-endian keeps the result identical to the byte-at-a-time definition.
        while (data.Length >= 8)
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }

        if (data.Length >= 4)
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt32LittleEndian(data));
            data = data[4..];
        }

        foreach (var b in data)
        {
            crc = BitOperations.Crc32C(crc, b);
        }

        return crc;
    }
}
