using System.Text;
using Samsa.IntegrationTests.Infrastructure;
using Samsa.Testing;

namespace Samsa.IntegrationTests.Producer;

/// <summary>
/// Retriable broker errors are retried until the records get through, exactly once and in
/// order; a non-retriable one fails the records of that request only. Pushed errors are
/// cluster-wide, so each test starts its own mock cluster.
/// </summary>
public sealed class RetryTests
{
    private const short NotLeaderOrFollower = 6;
    private const short RequestTimedOut = 7;
    private const short MessageTooLarge = 10;
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    public RetryTests() => ConfluentLoader.EnsureLoaded();

    private static ProducerOptions Options(MockCluster cluster) => new()
    {
        BootstrapServers = cluster.BootstrapServers.Split(','),
        EnableIdempotence = false, // the mock de-duplicates only for transactional producers
        MaxInFlightRequestsPerConnection = 1, // without idempotence, order across retries needs this (as in Java)
        Linger = TimeSpan.FromMilliseconds(2),
        RetryBackoff = TimeSpan.FromMilliseconds(20),
        MaxBlock = TimeSpan.FromSeconds(10),
    };

    [Fact]
    public async Task RetriableErrorsAreRetriedAndEveryRecordLandsOnceInOrder()
    {
        const int count = 10;
        const string topic = "retry-retriable";
        using var cluster = MockCluster.Start(3);
        cluster.CreateTopic(topic, 1);
        cluster.PushRequestErrors(KafkaApiKey.Produce, NotLeaderOrFollower, RequestTimedOut);
        cluster.StartRequestTracking();

        await using (var producer = new ProducerBuilder<string, string>(Options(cluster)).Build())
        {
            var tasks = Enumerable.Range(0, count)
                .Select(i => producer.ProduceAsync(new ProducerRecord<string, string>(topic, $"k{i}", $"v{i}")).AsTask())
                .ToList();
            var results = await Task.WhenAll(tasks).WaitAsync(Bound);
            Assert.Equal(Enumerable.Range(0, count).Select(i => (long)i), results.Select(r => r.Offset));
            Assert.All(results, r => Assert.Equal(0, r.Partition));
        }

        // Both pushed errors were consumed by our Produce requests: at least two failed attempts and one that succeeded.
        var produceRequests = cluster.StopRequestTracking().Count(r => r.ApiKey == (short)KafkaApiKey.Produce);
        Assert.True(produceRequests >= 3, $"Only {produceRequests} Produce requests arrived.");

        var read = RecordReader.ReadPartition(cluster.BootstrapServers, topic, 0);
        Assert.Equal(Enumerable.Range(0, count).Select(i => $"v{i}"), read.Select(r => Encoding.UTF8.GetString(r.Value!)));
        Assert.Equal(Enumerable.Range(0, count).Select(i => $"k{i}"), read.Select(r => Encoding.UTF8.GetString(r.Key!)));
    }

    [Fact]
    public async Task NonRetriableErrorFailsOnlyThatRequest()
    {
        const string topic = "retry-fatal";
        using var cluster = MockCluster.Start(3);
        cluster.CreateTopic(topic, 1);
        cluster.PushRequestErrors(KafkaApiKey.Produce, MessageTooLarge);

        await using (var producer = new ProducerBuilder<string, string>(Options(cluster)).Build())
        {
            var first = producer.ProduceAsync(new ProducerRecord<string, string>(topic, "k-bad", "refused")).AsTask();
            var error = await Assert.ThrowsAsync<KafkaBrokerException>(() => first.WaitAsync(Bound));
            Assert.Equal(ErrorCode.MessageTooLarge, error.ErrorCode);
            Assert.False(error.IsRetriable);
            Assert.Equal(topic, error.Topic);
            Assert.Equal(0, error.Partition);
            Assert.Contains("MESSAGE_TOO_LARGE", error.Message);

            var later = Enumerable.Range(0, 5)
                .Select(i => producer.ProduceAsync(new ProducerRecord<string, string>(topic, $"k{i}", $"v{i}")).AsTask())
                .ToList();
            var results = await Task.WhenAll(later).WaitAsync(Bound);
            Assert.Equal([0L, 1L, 2L, 3L, 4L], results.Select(r => r.Offset));
        }

        var read = RecordReader.ReadPartition(cluster.BootstrapServers, topic, 0);
        Assert.Equal(["v0", "v1", "v2", "v3", "v4"], read.Select(r => Encoding.UTF8.GetString(r.Value!)));
    }
}
