using System.Text;

namespace Samsa.Tests.Partitioning;

/// <summary>
/// librdkafka's partitioners (<c>partitioner=consistent_random</c> and the others): the hashes against
/// published vectors, and which records hash and which stick. The placement itself is checked against
/// Confluent.Kafka's producer in the integration tests (LibrdkafkaPlacementTests).
/// </summary>
public sealed class LibrdkafkaPartitionerTests
{
    private static readonly FakeLoad Uniform = new(adaptive: false);

    [Theory]
    [InlineData("", 0x00000000u)]
    [InlineData("a", 0xE8B7BE43u)]
    [InlineData("123456789", 0xCBF43926u)] // the CRC-32 check value
    [InlineData("The quick brown fox jumps over the lazy dog", 0x414FA339u)]
    public void Crc32MatchesTheIeeeCheckValues(string input, uint expected) =>
        Assert.Equal(expected, LibrdkafkaHashes.Crc32(Encoding.ASCII.GetBytes(input)));

    [Theory]
    // Go's hash/fnv 32a, made non-negative as Sarama's hash partitioner does (negative results negated).
    [InlineData("kafka", 0x0d33c4e1u)]
    [InlineData("giberish123456789", 0x77a58295u)]
    [InlineData("1234", 0x023bdd03u)]
    [InlineData("", 0x7ee3623bu)]
    public void Fnv1aMatchesSaramasVariant(string input, uint expected) =>
        Assert.Equal(expected, LibrdkafkaHashes.Fnv1a(Encoding.ASCII.GetBytes(input)));

    [Fact]
    public void ConsistentHashesEveryKeyIncludingTheEmptyOneWhichGoesToPartitionZero()
    {
        var sticky = new StickyPartitioner(16384, new Random(1));
        var key = "customer-42"u8;
        Assert.Equal((int)(LibrdkafkaHashes.Crc32(key) % 7), Place(PartitionerKind.Consistent, key, keyIsNull: false, sticky));
        Assert.Equal(0, Place(PartitionerKind.Consistent, [], keyIsNull: false, sticky));
    }

    [Fact]
    public void ConsistentRandomSpreadsEmptyAndNullKeysLikeKeylessRecords()
    {
        var sticky = new StickyPartitioner(16384, new Random(1));
        var stuck = sticky.CurrentPartition("t", 7, [], Uniform);
        Assert.Equal(stuck, Place(PartitionerKind.ConsistentRandom, [], keyIsNull: false, sticky));
        Assert.Equal(stuck, Place(PartitionerKind.ConsistentRandom, [], keyIsNull: true, sticky));
        Assert.True(DefaultPartitioner.IsSticky(PartitionerKind.ConsistentRandom, keyIsNull: false, keyLength: 0, ignoreKeys: false));
        Assert.False(DefaultPartitioner.IsSticky(PartitionerKind.Consistent, keyIsNull: false, keyLength: 0, ignoreKeys: false));
        Assert.False(DefaultPartitioner.IsSticky(PartitionerKind.Default, keyIsNull: false, keyLength: 0, ignoreKeys: false));
    }

    [Fact]
    public void Fnv1aHashesTheEmptyKeyAndSticksNullOnes()
    {
        var sticky = new StickyPartitioner(16384, new Random(1));
        Assert.Equal((int)(0x7ee3623bu % 7), Place(PartitionerKind.Fnv1a, [], keyIsNull: false, sticky));
        Assert.True(DefaultPartitioner.IsSticky(PartitionerKind.Fnv1a, keyIsNull: true, keyLength: 0, ignoreKeys: false));
    }

    [Fact]
    public void RandomIgnoresKeysAndPrefersPartitionsWithALeader()
    {
        var sticky = new StickyPartitioner(16384, new Random(1));
        var seen = new HashSet<int>();
        for (var i = 0; i < 400; i++)
        {
            var p = DefaultPartitioner.Partition("t", null, "same-key"u8, false, 7, PartitionerKind.Random, false, sticky, [2, 5], Uniform);
            Assert.True(p is 2 or 5, $"partition {p}");
            seen.Add(p);
        }

        Assert.Equal(2, seen.Count); // the same key went to both: placement by key is not kept
        Assert.False(DefaultPartitioner.IsSticky(PartitionerKind.Random, keyIsNull: true, keyLength: 0, ignoreKeys: false));
    }

    [Theory]
    [InlineData("partitioner", "consistent_random", PartitionerKind.ConsistentRandom)]
    [InlineData("partitioner", "consistent", PartitionerKind.Consistent)]
    [InlineData("partitioner", "murmur2_random", PartitionerKind.Default)]
    [InlineData("partitioner", "murmur2", PartitionerKind.Default)]
    [InlineData("partitioner", "fnv1a_random", PartitionerKind.Fnv1a)]
    [InlineData("partitioner", "fnv1a", PartitionerKind.Fnv1a)]
    [InlineData("partitioner", "random", PartitionerKind.Random)]
    [InlineData("partitioner.class", "consistent_random", PartitionerKind.ConsistentRandom)]
    public void LibrdkafkasPartitionerNamesAreAccepted(string key, string value, PartitionerKind expected)
    {
        var options = ProducerConfigParser.Parse([new("bootstrap.servers", "b:9092"), new(key, value)]);
        Assert.Equal(expected, options.Partitioner);
    }

    [Fact]
    public void AnUnknownPartitionerNameListsTheLibrdkafkaOnes()
    {
        var error = Assert.Throws<ConfigException>(() => ProducerConfigParser.Parse([new("partitioner", "crc32")]));
        Assert.Contains("consistent_random", error.Message, StringComparison.Ordinal);
    }

    private static int Place(PartitionerKind kind, ReadOnlySpan<byte> key, bool keyIsNull, StickyPartitioner sticky) =>
        DefaultPartitioner.Partition("t", null, key, keyIsNull, 7, kind, false, sticky, [], Uniform);
}
