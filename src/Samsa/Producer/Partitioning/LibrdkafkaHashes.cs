namespace Samsa;

/// <summary>
/// The two key hashes of librdkafka's partitioners besides murmur2 (which is Java's, <see cref="Murmur2"/>):
/// CRC-32 for <c>consistent</c> and <c>consistent_random</c> (Confluent.Kafka's default), and FNV-1a in
/// Sarama's variant for <c>fnv1a</c> and <c>fnv1a_random</c>. Each maps a key to the partition librdkafka
/// chooses for it, so that a service moving from Confluent.Kafka keeps every key on its partition.
/// </summary>
internal static class LibrdkafkaHashes
{
    // The reflected table of the IEEE 802.3 polynomial (0x04C11DB7, bit-reversed 0xEDB88320), as zlib's crc32.
    private static readonly uint[] s_crc32Table = BuildCrc32Table();

    /// <summary>CRC-32 (IEEE 802.3, as zlib's <c>crc32</c>) of <paramref name="data"/>; 0 for no bytes.</summary>
    public static uint Crc32(ReadOnlySpan<byte> data)
    {
        var table = s_crc32Table;
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        }

        return ~crc;
    }

    /// <summary>
    /// 32-bit FNV-1a of <paramref name="data"/>, made non-negative as Sarama's hash partitioner does: the
    /// hash is read as a signed number and negated when negative (int.MinValue stays as it is).
    /// </summary>
    public static uint Fnv1a(ReadOnlySpan<byte> data)
    {
        const uint OffsetBasis = 0x811C9DC5;
        const uint Prime = 0x01000193;
        var hash = OffsetBasis;
        foreach (var b in data)
        {
            hash = (hash ^ b) * Prime;
        }

        var signed = unchecked((int)hash);
        return signed < 0 ? unchecked((uint)-signed) : hash;
    }

    /// <summary>librdkafka's <c>consistent</c> placement: CRC-32 of the key, modulo the partition count (unsigned).</summary>
    public static int ConsistentPartition(ReadOnlySpan<byte> key, int partitionCount) => (int)(Crc32(key) % (uint)partitionCount);

    /// <summary>librdkafka's <c>fnv1a</c> placement: FNV-1a of the key, modulo the partition count (unsigned).</summary>
    public static int Fnv1aPartition(ReadOnlySpan<byte> key, int partitionCount) => (int)(Fnv1a(key) % (uint)partitionCount);

    private static uint[] BuildCrc32Table()
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            var c = n;
            for (var k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            }

            table[n] = c;
        }

        return table;
    }
}
