using System.Text;
using Samsa.IntegrationTests.Infrastructure;

namespace Samsa.IntegrationTests.Producer;

/// <summary>Java-style configuration (<c>.properties</c> text and files) builds a working producer, or fails at Build() naming the key.</summary>
[Collection(MockClusterCollectionDefinition.Name)]
public sealed class ConfigurationTests(MockClusterFixture fixture)
{
    private const string JavaTutorialBlock = """
        bootstrap.servers=kafka-broker1:9092,kafka-broker2:9092
        key.serializer=org.apache.kafka.common.serialization.StringSerializer
        value.serializer=org.apache.kafka.common.serialization.StringSerializer
        acks=all
        retries=3
        retry.backoff.ms=100
        batch.size=16384
        linger.ms=1
        compression.type=snappy
        """;

    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task JavaTutorialBlockLoadsAsIsAndProduces()
    {
        var parsed = JavaProperties.Parse(JavaTutorialBlock);
        Assert.Equal(9, parsed.Count);
        Assert.Equal("kafka-broker1:9092,kafka-broker2:9092", parsed.Single(p => p.Key == "bootstrap.servers").Value);
        var properties = parsed
            .Select(p => p.Key == "bootstrap.servers" ? new KeyValuePair<string, string>(p.Key, fixture.BootstrapServers) : p)
            .ToList();

        // The settings are taken from the block as written.
        var options = ProducerOptions.FromProperties(properties);
        Assert.Equal(CompressionType.Snappy, options.CompressionType);
        Assert.Equal(Acks.All, options.Acks);
        Assert.Equal(3, options.Retries);
        Assert.Equal(TimeSpan.FromMilliseconds(100), options.RetryBackoff);
        Assert.Equal(16384, options.BatchSize);
        Assert.Equal(TimeSpan.FromMilliseconds(1), options.Linger);
        Assert.Equal(fixture.BootstrapServers.Split(','), options.BootstrapServers);

        await ProduceAndReadBack(new ProducerBuilder<string, string>(properties), "cfg-tutorial");
    }

    [Fact]
    public void UnknownKeyFailsAtBuildWithASuggestion()
    {
        var builder = new ProducerBuilder<string, string>(new Dictionary<string, string>
        {
            ["bootstrap.servers"] = fixture.BootstrapServers,
            ["linger.sm"] = "5",
        });

        var error = Assert.Throws<ConfigException>(() => builder.Build());
        Assert.Equal("linger.sm", error.Key);
        Assert.Equal("linger.ms", error.Suggestion);
        Assert.Contains("linger.sm", error.Message);
        Assert.Contains("linger.ms", error.Message);
    }

    [Fact]
    public void SerializerOfTheWrongTypeFailsAtBuildNamingTheKey()
    {
        var builder = new ProducerBuilder<string, string>(new Dictionary<string, string>
        {
            ["bootstrap.servers"] = fixture.BootstrapServers,
            ["key.serializer"] = "org.apache.kafka.common.serialization.IntegerSerializer",
            ["value.serializer"] = "org.apache.kafka.common.serialization.StringSerializer",
        });

        var error = Assert.Throws<ConfigException>(() => builder.Build());
        Assert.Equal("key.serializer", error.Key);
        Assert.Contains("key.serializer", error.Message);
        Assert.Contains("IntegerSerializer", error.Message);
    }

    [Fact]
    public async Task PropertiesFileLoadsAndProduces()
    {
        var path = Path.Combine(Path.GetTempPath(), $"samsa-producer-{Guid.NewGuid():N}.properties");
        try
        {
            File.WriteAllText(path, $"""
                # Producer settings, as a Java application would ship them
                ! another comment style
                bootstrap.servers = {fixture.BootstrapServers}
                key.serializer: org.apache.kafka.common.serialization.StringSerializer
                value.serializer=org.apache.kafka.common.serialization.StringSerializer
                acks=1
                linger.ms=2
                compression.type=lz4
                client.id=samsa-\
                    from-file
                """);

            var properties = JavaProperties.Load(path);
            Assert.Equal("samsa-from-file", properties.Single(p => p.Key == "client.id").Value);
            Assert.Equal(fixture.BootstrapServers, properties.Single(p => p.Key == "bootstrap.servers").Value);
            var options = ProducerOptions.FromProperties(properties);
            Assert.Equal(Acks.Leader, options.Acks);
            Assert.Equal(CompressionType.Lz4, options.CompressionType);

            await ProduceAndReadBack(new ProducerBuilder<string, string>(properties), "cfg-file", expectedName: "samsa-from-file");
        }
        finally
        {
            File.Delete(path);
        }
    }

    private async Task ProduceAndReadBack(ProducerBuilder<string, string> builder, string prefix, string? expectedName = null)
    {
        const int count = 20;
        var topic = fixture.CreateTopic(1, prefix);
        await using (var producer = builder.Build())
        {
            if (expectedName is not null)
            {
                Assert.Equal(expectedName, producer.Name);
            }

            var tasks = Enumerable.Range(0, count)
                .Select(i => producer.ProduceAsync(new ProducerRecord<string, string>(topic, $"key-{i}", $"value-{i} {new string('s', i * 10)}")).AsTask())
                .ToList();
            var results = await Task.WhenAll(tasks).WaitAsync(Bound);
            Assert.Equal(Enumerable.Range(0, count).Select(i => (long)i), results.Select(r => r.Offset));
        }

        var read = RecordReader.ReadPartition(fixture.BootstrapServers, topic, 0);
        Assert.Equal(count, read.Count);
        for (var i = 0; i < count; i++)
        {
            Assert.Equal(i, read[i].Offset);
            Assert.Equal($"key-{i}", Encoding.UTF8.GetString(read[i].Key!));
            Assert.Equal($"value-{i} {new string('s', i * 10)}", Encoding.UTF8.GetString(read[i].Value!));
        }
    }
}
