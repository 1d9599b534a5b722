using System.Text;
using Samsa.IntegrationTests.Infrastructure;
using CK = Confluent.Kafka;

namespace Samsa.IntegrationTests.Producer;

/// <summary>
/// librdkafka's partitioners in Samsa place every key where librdkafka does: the same keys are produced
/// with Confluent.Kafka's producer (librdkafka, <c>partitioner=…</c>) and with Samsa's, and each key must
/// land on the same partition. This is what keeps per-key order when a running service moves from
/// Confluent.Kafka to Samsa.
/// </summary>
[Collection(MockClusterCollectionDefinition.Name)]
public sealed class LibrdkafkaPlacementTests(MockClusterFixture fixture)
{
    // Not a power of two, so that a signed/unsigned slip in the modulo shows.
    private const int Partitions = 13;
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    /// <summary>Text keys, binary keys of every length from 1 to 64 (with high bytes), and the empty key.</summary>
    private static List<byte[]> Keys()
    {
        var keys = new List<byte[]> { Array.Empty<byte>() };
        for (var i = 0; i < 200; i++)
        {
            keys.Add(Encoding.UTF8.GetBytes($"customer-{i}"));
        }

        var random = new Random(13);
        for (var length = 1; length <= 64; length++)
        {
            for (var n = 0; n < 3; n++)
            {
                var key = new byte[length];
                random.NextBytes(key);
                keys.Add(key);
            }
        }

        keys.Add(Encoding.UTF8.GetBytes("ünïcödé-κλειδί-鍵"));
        return keys;
    }

    [Theory]
    [InlineData("consistent_random")]
    [InlineData("consistent")]
    [InlineData("murmur2_random")]
    [InlineData("murmur2")]
    [InlineData("fnv1a_random")]
    [InlineData("fnv1a")]
    public async Task EveryKeyLandsOnTheSamePartitionAsWithConfluent(string partitioner)
    {
        var topic = fixture.CreateTopic(Partitions, "placement-" + partitioner.Replace('_', '-'));
        var keys = Keys();

        // consistent_random spreads an empty key at random: there is no placement to compare for it.
        var compared = partitioner == "consistent_random" ? keys.Where(k => k.Length > 0).ToList() : keys;
        var confluent = await ConfluentPlacement(topic, partitioner, compared);
        var samsa = await SamsaPlacement(topic, partitioner, compared);

        var differences = Enumerable.Range(0, compared.Count)
            .Where(i => confluent[i] != samsa[i])
            .Select(i => $"key {Convert.ToHexString(compared[i])}: librdkafka {confluent[i]}, Samsa {samsa[i]}")
            .ToList();
        Assert.True(differences.Count == 0, $"{differences.Count} of {compared.Count} keys placed differently:{Environment.NewLine}{string.Join(Environment.NewLine, differences.Take(10))}");

        // The keys cover the partitions, so the comparison says something about each of them.
        Assert.True(confluent.Distinct().Count() >= Partitions - 1, $"librdkafka used only {confluent.Distinct().Count()} partitions");
    }

    [Fact]
    public async Task RandomSendsOneKeyToSeveralPartitionsInBothClients()
    {
        var topic = fixture.CreateTopic(Partitions, "placement-random");
        var sameKey = Enumerable.Repeat(Encoding.UTF8.GetBytes("one-key"), 200).ToList();

        var confluent = await ConfluentPlacement(topic, "random", sameKey);
        var samsa = await SamsaPlacement(topic, "random", sameKey);

        Assert.True(confluent.Distinct().Count() > 1);
        Assert.True(samsa.Distinct().Count() > 1, "partitioner=random must not place by key");
    }

    private async Task<int[]> ConfluentPlacement(string topic, string partitioner, List<byte[]> keys)
    {
        var config = new CK.ProducerConfig { BootstrapServers = fixture.BootstrapServers, LingerMs = 5 };
        config.Set("partitioner", partitioner);
        using var producer = new CK.ProducerBuilder<byte[], byte[]>(config).Build();
        var sends = keys.Select(k => producer.ProduceAsync(topic, new CK.Message<byte[], byte[]> { Key = k, Value = k })).ToList();
        var results = await Task.WhenAll(sends).WaitAsync(Bound);
        return [.. results.Select(r => r.Partition.Value)];
    }

    private async Task<int[]> SamsaPlacement(string topic, string partitioner, List<byte[]> keys)
    {
        await using var producer = new ProducerBuilder<byte[], byte[]>(new Dictionary<string, string>
        {
            ["bootstrap.servers"] = fixture.BootstrapServers,
            ["linger.ms"] = "5",
            ["partitioner"] = partitioner,
        }).Build();
        var sends = keys.Select(k => producer.ProduceAsync(new ProducerRecord<byte[], byte[]>(topic, k, k)).AsTask()).ToList();
        var results = await Task.WhenAll(sends).WaitAsync(Bound);
        return [.. results.Select(r => r.Partition)];
    }
}
