using System.Text;
using Samsa.IntegrationTests.Infrastructure;

namespace Samsa.IntegrationTests.Producer;

/// <summary>
/// Flush sends what was produced before it at once, whatever linger.ms says, and waits for
/// exactly those records. Timeouts here only bound waits.
/// </summary>
[Collection(MockClusterCollectionDefinition.Name)]
public sealed class FlushTests(MockClusterFixture fixture)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    private ProducerOptions LongLinger() => new()
    {
        BootstrapServers = fixture.BootstrapServers.Split(','),
        EnableIdempotence = false,
        Linger = TimeSpan.FromSeconds(30),
        BatchSize = 512 * 1024,
        MaxBlock = TimeSpan.FromSeconds(10),
    };

    [Fact]
    public async Task OneRequestForHundredsOfPartitionsGivesEachRecordItsOwnOffset()
    {
        // A flush after a long linger puts one batch per partition into each broker's request: hundreds of
        // batches whose answers must be matched back to the right records.
        const int partitions = 300, perPartition = 3;
        var topic = fixture.CreateTopic(partitions, "flush-wide");
        await using var producer = new ProducerBuilder<string, string>(LongLinger()).Build();
        var tasks = Enumerable.Range(0, partitions * perPartition)
            .Select(i => producer.ProduceAsync(new ProducerRecord<string, string>(topic, i % partitions, $"k{i}", $"v{i}")))
            .ToList();

        await producer.FlushAsync().WaitAsync(Bound);
        for (var i = 0; i < tasks.Count; i++)
        {
            var result = await tasks[i];
            Assert.Equal(i % partitions, result.Partition);
            Assert.Equal(i / partitions, result.Offset);
        }
    }

    [Fact]
    public async Task FlushAsyncSendsEverythingDespiteLinger()
    {
        const int count = 50;
        var topic = fixture.CreateTopic(2, "flush-async");
        await using var producer = new ProducerBuilder<string, string>(LongLinger()).Build();
        var tasks = Enumerable.Range(0, count)
            .Select(i => producer.ProduceAsync(new ProducerRecord<string, string>(topic, i % 2, $"k{i}", $"v{i}")))
            .ToList();

        await producer.FlushAsync().WaitAsync(Bound);

        // The ValueTasks themselves (not AsTask() wrappers, which complete through a queued continuation).
        for (var i = 0; i < count; i++)
        {
            Assert.True(tasks[i].IsCompletedSuccessfully, $"Record {i} not delivered after flush (completed: {tasks[i].IsCompleted}).");
        }

        var results = new DeliveryResult[count];
        for (var i = 0; i < count; i++)
        {
            results[i] = await tasks[i];
        }

        for (var i = 0; i < count; i++)
        {
            Assert.Equal(i % 2, results[i].Partition);
        }

        foreach (var partition in new[] { 0, 1 })
        {
            var offsets = results.Where((_, i) => i % 2 == partition).Select(r => r.Offset).ToList();
            Assert.Equal(Enumerable.Range(0, count / 2).Select(o => (long)o), offsets);
        }

        var read = RecordReader.ReadAll(fixture.BootstrapServers, topic, count);
        Assert.Equal(count, read.Count);
        for (var partition = 0; partition < 2; partition++)
        {
            var expected = Enumerable.Range(0, count).Where(i => i % 2 == partition).Select(i => $"v{i}").ToList();
            var actual = read.Where(r => r.Partition == partition).Select(r => Encoding.UTF8.GetString(r.Value!)).ToList();
            Assert.Equal(expected, actual);
        }
    }

    [Fact]
    public async Task BlockingFlushReturnsTrueWhenEverythingWasReported()
    {
        var topic = fixture.CreateTopic(1, "flush-sync");
        await using var producer = new ProducerBuilder<string, string>(LongLinger()).Build();

        // Let metadata arrive first, so that the blocking flush below only waits for sending.
        var warm = producer.ProduceAsync(new ProducerRecord<string, string>(topic, "warm", "up")).AsTask();
        await producer.FlushAsync().WaitAsync(Bound);
        Assert.Equal(0, (await warm).Offset);

        var tasks = Enumerable.Range(0, 5)
            .Select(i => producer.ProduceAsync(new ProducerRecord<string, string>(topic, $"k{i}", $"v{i}")))
            .ToList();
        var flushed = await Task.Run(() => producer.Flush(Bound));

        Assert.True(flushed);
        Assert.All(tasks, t => Assert.True(t.IsCompletedSuccessfully, $"completed: {t.IsCompleted}"));
        var offsets = new List<long>();
        foreach (var t in tasks)
        {
            offsets.Add((await t).Offset);
        }

        Assert.Equal([1L, 2L, 3L, 4L, 5L], offsets);
    }

    [Fact]
    public async Task FlushWaitsOnlyForRecordsProducedBeforeIt()
    {
        var topic = fixture.CreateTopic(2, "flush-before");
        var producer = new ProducerBuilder<string, string>(LongLinger()).SetCloseTimeout(TimeSpan.FromSeconds(15)).Build();
        try
        {
            // Warm up metadata for the topic.
            var warm = producer.ProduceAsync(new ProducerRecord<string, string>(topic, 0, "w", "warm"));
            await producer.FlushAsync().WaitAsync(Bound);
            Assert.True(warm.IsCompletedSuccessfully);
            Assert.Equal(0, (await warm).Offset);

            var a = producer.ProduceAsync(new ProducerRecord<string, string>(topic, 0, "a", "A"));
            var flush = producer.FlushAsync();
            var b = producer.ProduceAsync(new ProducerRecord<string, string>(topic, 1, "b", "B"));

            await flush.WaitAsync(Bound);
            Assert.True(a.IsCompletedSuccessfully, $"A not delivered after flush (completed: {a.IsCompleted}).");
            var aResult = await a;
            Assert.Equal(0, aResult.Partition);
            Assert.Equal(1, aResult.Offset);

            // B was produced after the flush began and lingers (30 s) in its own partition.
            Assert.False(b.IsCompleted, "B completed with the flush.");

            // Disposing flushes B within the close timeout.
            await producer.DisposeAsync().AsTask().WaitAsync(Bound);
            Assert.True(b.IsCompleted);
            Assert.True(b.IsCompletedSuccessfully, "B did not complete successfully on dispose.");
            var bResult = await b;
            Assert.Equal(1, bResult.Partition);
            Assert.Equal(0, bResult.Offset);
        }
        finally
        {
            await producer.DisposeAsync().AsTask().WaitAsync(Bound);
        }

        var p1 = RecordReader.ReadPartition(fixture.BootstrapServers, topic, 1);
        Assert.Equal(["B"], p1.Select(r => Encoding.UTF8.GetString(r.Value!)));
    }

    [Fact]
    public async Task CallbackPathReportsEveryRecordExactlyOnce()
    {
        const int count = 300;
        var topic = fixture.CreateTopic(3, "flush-callback");
        var calls = new int[count];
        var failures = new KafkaException?[count];
        var producer = new ProducerBuilder<string, string>(LongLinger() with { BatchSize = 4096 }).Build();
        await using (producer)
        {
            for (var i = 0; i < count; i++)
            {
                var index = i;
                producer.Produce(new ProducerRecord<string, string>(topic, $"k{i}", $"v{i}"), report =>
                {
                    Interlocked.Increment(ref calls[index]);
                    failures[index] = report.Error;
                });
            }

            await producer.FlushAsync().WaitAsync(Bound);
            for (var i = 0; i < count; i++)
            {
                Assert.True(calls[i] == 1, $"Record {i} was reported {calls[i]} times before the flush completed.");
                Assert.True(failures[i] is null, $"Record {i} failed: {failures[i]?.Message}");
            }
        }

        // Nothing reported again on dispose.
        for (var i = 0; i < count; i++)
        {
            Assert.True(Volatile.Read(ref calls[i]) == 1, $"Record {i} was reported {calls[i]} times.");
        }

        var read = RecordReader.ReadAll(fixture.BootstrapServers, topic, count);
        Assert.Equal(count, read.Count);
        Assert.Equal(
            Enumerable.Range(0, count).Select(i => $"v{i}").Order(),
            read.Select(r => Encoding.UTF8.GetString(r.Value!)).Order());
    }
}
