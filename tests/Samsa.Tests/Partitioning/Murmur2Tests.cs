using System.Globalization;
using System.Text;
using Samsa.Tests.Config;

namespace Samsa.Tests.Partitioning;

public sealed class Murmur2Tests
{
    private static int Hash(string key) => Murmur2.Hash(Encoding.UTF8.GetBytes(key));

    // Java's murmur2 (Utils.murmur2) of these keys: every vector of ../shared/kafka-protocol/murmur2-vectors.csv,
    // embedded because they are facts, so that the test checks them on a fresh clone alone.
    [Theory]
    [InlineData("21", -973932308)]
    [InlineData("foobar", -790332482)]
    [InlineData("a-little-bit-long-string", -985981536)]
    [InlineData("a-little-bit-longer-string", -1486304829)]
    [InlineData("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971)]
    [InlineData("abc", 479470107)]
    public void JavaVectors(string key, int expected) => Assert.Equal(expected, Hash(key));

    [SharedDataFact]
    public void EveryVectorInTheSharedFile()
    {
        var path = Path.Combine(SharedDataFactAttribute.Folder!, "murmur2-vectors.csv");
        Assert.True(File.Exists(path), $"The murmur2 test vectors are missing: expected them at {path}.");

        var count = 0;
        foreach (var line in File.ReadLines(path))
        {
            if (line.Length == 0 || line.StartsWith('#') || line.StartsWith("key,", StringComparison.Ordinal))
            {
                continue;
            }

            var comma = line.LastIndexOf(',');
            var key = line[..comma];
            var expected = int.Parse(line[(comma + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            Assert.True(expected == Hash(key), $"murmur2(\"{key}\") should be {expected} but is {Hash(key)}.");
            count++;
        }

        Assert.True(count >= 3, $"{path} holds only {count} vectors.");
    }

    [Fact]
    public void EveryTailLength()
    {
        // Lengths 0 to 4 exercise the empty input, each branch of the tail, and one whole block.
        var seen = new HashSet<int>();
        for (var n = 0; n <= 8; n++)
        {
            Assert.True(seen.Add(Murmur2.Hash(new byte[n])), $"length {n} collides");
        }
    }

    [Fact]
    public void KeyedPartitionMatchesJava()
    {
        // toPositive(-790332482) = 1357151166; 1357151166 % 3 = 0 and % 10 = 6.
        Assert.Equal(0, Murmur2.Partition("foobar"u8, 3));
        Assert.Equal(6, Murmur2.Partition("foobar"u8, 10));
        Assert.Equal(Murmur2.ToPositive(Hash("21")) % 7, Murmur2.Partition("21"u8, 7));
    }

    [Fact]
    public void ToPositiveClearsTheSignBit()
    {
        Assert.Equal(0, Murmur2.ToPositive(int.MinValue));
        Assert.Equal(int.MaxValue, Murmur2.ToPositive(-1));
        Assert.Equal(5, Murmur2.ToPositive(5));
    }
}
