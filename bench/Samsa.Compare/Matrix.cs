namespace Samsa.Compare;

/// <summary>
/// The benchmark matrix of issue 9: record size, codec, broker round trip, partitions and path. Every combination
/// of the core dimensions, plus 10 KB records and the two other codecs once each, in the plainest setting.
/// </summary>
internal static class Matrix
{
    private static readonly string[] Paths = ["callback", "await"];
    private static readonly int[] Sizes = [100, 1000];
    private static readonly string[] Codecs = ["none", "lz4", "zstd"];
    private static readonly string[] OtherCodecs = ["gzip", "snappy"];
    private static readonly int[] RoundTrips = [0, 10];
    private static readonly int[] PartitionCounts = [6, 300];

    /// <summary>2 sizes × 3 codecs × 2 round trips × 2 partition counts × 2 paths = 48 cells, plus 6: 54.</summary>
    public static IReadOnlyList<Cell> Full()
    {
        var cells = (from size in Sizes
                     from codec in Codecs
                     from rtt in RoundTrips
                     from partitions in PartitionCounts
                     from path in Paths
                     select new Cell(path, size, codec, rtt, partitions)).ToList();
        cells.AddRange(Paths.Select(path => new Cell(path, 10_240, "none", 0, 6)));
        cells.AddRange(from codec in OtherCodecs from path in Paths select new Cell(path, 100, codec, 0, 6));
        return cells;
    }

    /// <summary>For development: each dimension of <see cref="Full"/> moved once from the plainest cell, both paths (8 cells).</summary>
    public static IReadOnlyList<Cell> Quick() =>
        (from cell in new Cell[] { new("", 100, "none", 0, 6), new("", 1000, "lz4", 0, 6), new("", 100, "none", 10, 6), new("", 100, "zstd", 0, 300) }
         from path in Paths
         select cell with { Path = path }).ToList();
}
