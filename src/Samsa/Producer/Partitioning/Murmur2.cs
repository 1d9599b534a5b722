using System.Buffers.Binary;

namespace Samsa;

/// <summary>
/// The 32-bit murmur2 hash exactly as the Java client's <c>Utils.murmur2</c> computes it, so that a key
/// lands on the same partition as it would from a Java producer.
/// </summary>
internal static class Murmur2
{
    private const uint Seed = 0x9747b28c;
    private const uint M = 0x5bd1e995;
    private const int R = 24;

    public static int Hash(ReadOnlySpan<byte> data)
    {
        var length = data.Length;
        var h = Seed ^ (uint)length;

        var body = length & ~3;
        for (var i = 0; i < body; i += 4)
        {
            var k = BinaryPrimitives.ReadUInt32LittleEndian(data.Slice(i, 4));
            k *= M;
            k ^= k >> R;
            k *= M;
            h *= M;
            h ^= k;
        }

        // The tail falls through from 3 to 1, as the Java switch does.
        switch (length & 3)
        {
            case 3:
                h ^= (uint)data[body + 2] << 16;
                goto case 2;
            case 2:
                h ^= (uint)data[body + 1] << 8;
                goto case 1;
            case 1:
                h ^= data[body];
                h *= M;
                break;
        }

        h ^= h >> 13;
        h *= M;
        h ^= h >> 15;
        return (int)h;
    }

    /// <summary>Java's <c>Utils.toPositive</c>: clears the sign bit (not <c>Math.Abs</c>, which fails on <see cref="int.MinValue"/>).</summary>
    public static int ToPositive(int value) => value & 0x7fffffff;

    /// <summary>The partition of a keyed record: <c>toPositive(murmur2(key)) % partitionCount</c>.</summary>
    public static int Partition(ReadOnlySpan<byte> key, int partitionCount) => ToPositive(Hash(key)) % partitionCount;
}
