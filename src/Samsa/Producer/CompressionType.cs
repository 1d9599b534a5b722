namespace Samsa;

/// <summary>
/// <c>compression.type</c>. The numeric values are the codec bits of a record batch's attributes.
/// </summary>
public enum CompressionType : byte
{
    None = 0,
    Gzip = 1,
    Snappy = 2,
    Lz4 = 3,
    Zstd = 4,
}
