using Samsa.IntegrationTests.Infrastructure;

namespace Samsa.IntegrationTests.Producer;

[Collection(MockClusterCollectionDefinition.Name)]
public sealed class SmokeTests(MockClusterFixture fixture)
{
    [Fact]
    public async Task KeyedRecordsAreAcknowledgedAndReadBack()
    {
        var topic = fixture.CreateTopic(3);
        await using var producer = new ProducerBuilder<string, string>(new ProducerOptions { BootstrapServers = fixture.BootstrapServers.Split(","), MaxBlock = TimeSpan.FromSeconds(3) }).Build();
        var results = new List<DeliveryResult>();
        for (var i = 0; i < 10; i++)
        {
            results.Add(await producer.ProduceAsync(new ProducerRecord<string, string>(topic, $"key-{i}", $"value-{i}")));
        }

        var read = RecordReader.ReadAll(fixture.BootstrapServers, topic, 10);
        Assert.Equal(10, read.Count);
        Assert.All(results, r => Assert.True(r.Offset >= 0));
    }
}
