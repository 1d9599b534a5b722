namespace Samsa;

/// <summary>
/// <c>compression.type</c>. The numeric values are the codec bits of a record batch's attributes.
/// </summary>
public enum CompressionType : byte
{
    /// <summary><c>none</c>: batches are sent uncompressed.</summary>
    None = 0,

    /// <summary><c>gzip</c> (DEFLATE in the gzip format).</summary>
    Gzip = 1,

    /// <summary><c>snappy</c>, in the xerial framing that Kafka's Java client writes.</summary>
    Snappy = 2,

    /// <summary><c>lz4</c>, in the LZ4 frame format.</summary>
    Lz4 = 3,

    /// <summary><c>zstd</c> (Zstandard); needs brokers of Kafka 2.1 or later.</summary>
    Zstd = 4,
}
