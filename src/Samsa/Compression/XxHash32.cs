using System.Buffers.Binary;
using System.Numerics;

namespace Samsa.Compression;

/// <summary>
/// xxHash32, needed for the LZ4 frame's header, block and content checksums. K4os.Compression.LZ4
/// does not bring K4os.Hash.xxHash (only its Streams package does), and the algorithm is short.
/// </summary>
internal static class XxHash32
{
    private const uint Prime1 = 2654435761U;
    private const uint Prime2 = 2246822519U;
    private const uint Prime3 = 3266489917U;
    private const uint Prime4 = 668265263U;
    private const uint Prime5 = 374761393U;

    public static uint Hash(ReadOnlySpan<byte> data, uint seed = 0)
    {
        var length = (uint)data.Length;
        uint hash;
        if (data.Length >= 16)
        {
            var v1 = seed + Prime1 + Prime2;
            var v2 = seed + Prime2;
            var v3 = seed;
            var v4 = seed - Prime1;
            while (data.Length >= 16)
            {
                v1 = Round(v1, BinaryPrimitives.ReadUInt32LittleEndian(data));
                v2 = Round(v2, BinaryPrimitives.ReadUInt32LittleEndian(data[4..]));
                v3 = Round(v3, BinaryPrimitives.ReadUInt32LittleEndian(data[8..]));
                v4 = Round(v4, BinaryPrimitives.ReadUInt32LittleEndian(data[12..]));
                data = data[16..];
            }

            hash = BitOperations.RotateLeft(v1, 1) + BitOperations.RotateLeft(v2, 7)
                + BitOperations.RotateLeft(v3, 12) + BitOperations.RotateLeft(v4, 18);
        }
        else
        {
            hash = seed + Prime5;
        }

        hash += length;

        while (data.Length >= 4)
        {
            hash = BitOperations.RotateLeft(hash + (BinaryPrimitives.ReadUInt32LittleEndian(data) * Prime3), 17) * Prime4;
            data = data[4..];
        }

        foreach (var b in data)
        {
            hash = BitOperations.RotateLeft(hash + (b * Prime5), 11) * Prime1;
        }

        hash ^= hash >> 15;
        hash *= Prime2;
        hash ^= hash >> 13;
        hash *= Prime3;
        hash ^= hash >> 16;
        return hash;
    }

    private static uint Round(uint accumulator, uint lane) =>
        BitOperations.RotateLeft(accumulator + (lane * Prime2), 13) * Prime1;
}
