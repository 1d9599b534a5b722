using System.Buffers;
using System.Text;
using Samsa.IntegrationTests.Infrastructure;
using Samsa.Serialization;

namespace Samsa.IntegrationTests.Producer;

/// <summary>
/// A bad record fails alone, with a typed error that says what is wrong, while good records
/// produced before and after it by the same producer to the same topic are delivered and read back.
/// </summary>
[Collection(MockClusterCollectionDefinition.Name)]
public sealed class BadInputTests(MockClusterFixture fixture)
{
    private const int Partitions = 2;
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private ProducerOptions Options(int maxRequestSize = 1_048_576) => new()
    {
        BootstrapServers = fixture.BootstrapServers.Split(','),
        EnableIdempotence = false,
        Linger = TimeSpan.FromMilliseconds(1),
        MaxBlock = TimeSpan.FromSeconds(10),
        MaxRequestSize = maxRequestSize,
    };

    [Fact]
    public async Task ABatchTheCodecCannotEncodeFailsWithTheCauseAndTheSenderGoesOn()
    {
        // A codec that throws (here an undefined codec, which Build would refuse; in the field a codec bug or an
        // assembly trimmed away) used to stop the broker's sender: its records, and every one after, waited for ever.
        var topic = fixture.CreateTopic(1, "bad-codec");
        var options = (Options() with { EnableIdempotence = true }).Validate() with { CompressionType = (CompressionType)7 };
        var engine = new Samsa.Producer.Internal.ProducerEngine(options, Samsa.Diagnostics.SamsaLoggers.Null);
        await using var producer = new Samsa.Producer.Internal.KafkaProducer<string, string>(
            engine, Serializers.Utf8, Serializers.Utf8, partitioner: null, closeTimeout: TimeSpan.FromSeconds(5));

        foreach (var attempt in new[] { "first", "second" })
        {
            var error = await Assert.ThrowsAsync<KafkaException>(
                () => producer.ProduceAsync(new ProducerRecord<string, string>(topic, 0, "k", attempt)).AsTask().WaitAsync(Bound));
            Assert.StartsWith($"Could not encode a batch of {topic}", error.Message);
            Assert.IsType<ArgumentOutOfRangeException>(error.InnerException);
            Assert.False(error.IsRetriable);
        }
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public async Task MissingTopicFailsAloneThroughTheTask(string? badTopic)
    {
        var topic = fixture.CreateTopic(Partitions, "bad-topic-async");
        await using var producer = new ProducerBuilder<string, string>(Options()).Build();
        await Good(producer, topic, "before");

        var task = producer.ProduceAsync(new ProducerRecord<string, string>(badTopic!, 0, "k", "bad")).AsTask();
        var error = await Assert.ThrowsAsync<InvalidRecordException>(() => task.WaitAsync(Bound));
        Assert.Contains("no topic", error.Message);
        Assert.Equal(ErrorCode.LocalInvalidRecord, error.ErrorCode);
        Assert.False(error.IsRetriable);

        await Good(producer, topic, "after");
        AssertLogHolds(topic, "before", "after");
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public async Task MissingTopicFailsAloneThroughTheHandler(string? badTopic)
    {
        var topic = fixture.CreateTopic(Partitions, "bad-topic-handler");
        await using var producer = new ProducerBuilder<string, string>(Options()).Build();
        await Good(producer, topic, "before");

        var report = await ProduceWithHandler(producer, new ProducerRecord<string, string>(badTopic!, "k", "bad"));
        Assert.False(report.IsSuccess);
        var error = Assert.IsType<InvalidRecordException>(report.Error);
        Assert.Contains("no topic", error.Message);
        Assert.Equal(-1, report.Offset);
        Assert.Equal(-1, report.Partition);

        await Good(producer, topic, "after");
        AssertLogHolds(topic, "before", "after");
    }

    [Fact]
    public async Task NegativePartitionFailsAlone()
    {
        var topic = fixture.CreateTopic(Partitions, "bad-negative");
        await using var producer = new ProducerBuilder<string, string>(Options()).Build();
        await Good(producer, topic, "before");

        var task = producer.ProduceAsync(new ProducerRecord<string, string>(topic, -3, "k", "bad")).AsTask();
        var error = await Assert.ThrowsAsync<InvalidRecordException>(() => task.WaitAsync(Bound));
        Assert.Contains("-3", error.Message);
        Assert.Contains("negative", error.Message);
        Assert.Equal(topic, error.Topic);
        Assert.Equal(-3, error.Partition);

        var report = await ProduceWithHandler(producer, new ProducerRecord<string, string>(topic, -1, "k", "bad"));
        var handlerError = Assert.IsType<InvalidRecordException>(report.Error);
        Assert.Equal(topic, handlerError.Topic);
        Assert.Equal(-1, handlerError.Partition);

        await Good(producer, topic, "after");
        AssertLogHolds(topic, "before", "after");
    }

    [Fact]
    public async Task PartitionBeyondTheCountFailsAloneAndNamesTheCount()
    {
        var topic = fixture.CreateTopic(Partitions, "bad-beyond");
        await using var producer = new ProducerBuilder<string, string>(Options()).Build();
        await Good(producer, topic, "before");

        var task = producer.ProduceAsync(new ProducerRecord<string, string>(topic, Partitions, "k", "bad")).AsTask();
        var error = await Assert.ThrowsAsync<InvalidRecordException>(() => task.WaitAsync(Bound));
        Assert.Contains($"has {Partitions} partition", error.Message);
        Assert.Contains(topic, error.Message);
        Assert.Equal(topic, error.Topic);
        Assert.Equal(Partitions, error.Partition);

        var report = await ProduceWithHandler(producer, new ProducerRecord<string, string>(topic, 99, "k", "bad"));
        var handlerError = Assert.IsType<InvalidRecordException>(report.Error);
        Assert.Contains($"has {Partitions} partition", handlerError.Message);
        Assert.Equal(99, handlerError.Partition);
        Assert.Equal(-1, report.Offset);

        await Good(producer, topic, "after");
        AssertLogHolds(topic, "before", "after");
    }

    [Fact]
    public async Task ThrowingSerializerFailsAloneWithTheOriginalAsInner()
    {
        var topic = fixture.CreateTopic(Partitions, "bad-serializer");
        var serializer = new PoisonSerializer("poison");
        await using var producer = new ProducerBuilder<string, string>(Options()).SetValueSerializer(serializer).Build();
        await Good(producer, topic, "before");

        var task = producer.ProduceAsync(new ProducerRecord<string, string>(topic, 1, "k", "poison")).AsTask();
        var error = await Assert.ThrowsAsync<SerializationException>(() => task.WaitAsync(Bound));
        Assert.Same(serializer.LastThrown, error.InnerException);
        Assert.Contains("value serializer", error.Message);
        Assert.Contains("poison value refused", error.Message);
        Assert.Equal(ErrorCode.LocalValueSerialization, error.ErrorCode);
        Assert.Equal(MessageComponentType.Value, error.Component);
        Assert.Equal(PersistenceStatus.NotPersisted, error.PersistenceStatus);
        Assert.Equal(topic, error.Topic);
        Assert.Equal(1, error.Partition);

        var report = await ProduceWithHandler(producer, new ProducerRecord<string, string>(topic, "k", "poison"));
        var handlerError = Assert.IsType<SerializationException>(report.Error);
        Assert.IsType<InvalidOperationException>(handlerError.InnerException);
        Assert.Equal(topic, handlerError.Topic);

        await Good(producer, topic, "after");
        AssertLogHolds(topic, "before", "after");
    }

    [Fact]
    public async Task RecordOverMaxRequestSizeFailsAlone()
    {
        var topic = fixture.CreateTopic(Partitions, "bad-size");
        await using var producer = new ProducerBuilder<string, string>(Options(maxRequestSize: 10_000)).Build();
        await Good(producer, topic, "before");

        var big = new string('x', 20_000);
        var task = producer.ProduceAsync(new ProducerRecord<string, string>(topic, 1, "k", big)).AsTask();
        var error = await Assert.ThrowsAsync<RecordTooLargeException>(() => task.WaitAsync(Bound));
        Assert.Contains("max.request.size", error.Message);
        Assert.Contains("10000", error.Message);
        Assert.Equal(ErrorCode.LocalRecordTooLarge, error.ErrorCode);
        Assert.Equal(topic, error.Topic);
        Assert.Equal(1, error.Partition);

        var report = await ProduceWithHandler(producer, new ProducerRecord<string, string>(topic, 0, "k", big));
        var handlerError = Assert.IsType<RecordTooLargeException>(report.Error);
        Assert.Equal(0, handlerError.Partition);
        Assert.Equal(PersistenceStatus.NotPersisted, report.Status);

        await Good(producer, topic, "after");
        AssertLogHolds(topic, "before", "after");
    }

    [Fact]
    public async Task ProducingAfterDisposeFailsWithProducerClosed()
    {
        var topic = fixture.CreateTopic(Partitions, "bad-closed");
        var producer = new ProducerBuilder<string, string>(Options()).Build();
        await Good(producer, topic, "before");
        await producer.DisposeAsync().AsTask().WaitAsync(Bound);

        var task = producer.ProduceAsync(new ProducerRecord<string, string>(topic, 0, "k", "late")).AsTask();
        var error = await Assert.ThrowsAsync<ProducerClosedException>(() => task.WaitAsync(Bound));
        Assert.Contains("disposed", error.Message);
        Assert.Equal(ErrorCode.LocalProducerClosed, error.ErrorCode);
        Assert.False(error.IsRetriable);

        var report = await ProduceWithHandler(producer, new ProducerRecord<string, string>(topic, 0, "k", "late"));
        Assert.IsType<ProducerClosedException>(report.Error);

        // Disposing again is harmless.
        await producer.DisposeAsync().AsTask().WaitAsync(Bound);
        AssertLogHolds(topic, "before");
    }

    private static async Task Good(IProducer<string, string> producer, string topic, string value)
    {
        var result = await producer.ProduceAsync(new ProducerRecord<string, string>(topic, 0, "good", value)).AsTask().WaitAsync(Bound);
        Assert.Equal(topic, result.Topic);
        Assert.Equal(0, result.Partition);
        Assert.True(result.Offset >= 0, $"offset {result.Offset}");
    }

    private static async Task<DeliveryReport> ProduceWithHandler(IProducer<string, string> producer, ProducerRecord<string, string> record)
    {
        var reported = new TaskCompletionSource<DeliveryReport>(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = 0;
        producer.Produce(record, report =>
        {
            Interlocked.Increment(ref calls);
            reported.TrySetResult(report);
        });
        var result = await reported.Task.WaitAsync(Bound);
        Assert.Equal(1, Volatile.Read(ref calls));
        return result;
    }

    /// <summary>Partition 0 holds exactly the good records, in order; partition 1 holds nothing.</summary>
    private void AssertLogHolds(string topic, params string[] values)
    {
        RecordReader.ReadAll(fixture.BootstrapServers, topic, values.Length);
        var partition0 = RecordReader.ReadPartition(fixture.BootstrapServers, topic, 0);
        Assert.Equal(values, partition0.Select(r => Encoding.UTF8.GetString(r.Value!)).ToArray());
        Assert.All(partition0, r => Assert.Equal("good"u8.ToArray(), r.Key));
        Assert.Empty(RecordReader.ReadPartition(fixture.BootstrapServers, topic, 1));
    }

    private sealed class PoisonSerializer(string poison) : ISerializer<string>
    {
        public Exception? LastThrown { get; private set; }

        public void Serialize(string value, IBufferWriter<byte> output, in SerializationContext context)
        {
            if (value == poison)
            {
                var e = new InvalidOperationException("poison value refused");
                LastThrown = e;
                throw e;
            }

            output.Write(Encoding.UTF8.GetBytes(value));
        }
    }
}
