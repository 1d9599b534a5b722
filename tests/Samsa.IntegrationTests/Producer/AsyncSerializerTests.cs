using System.Buffers;
using System.Collections.Concurrent;
using System.Text;
using Samsa.IntegrationTests.Infrastructure;
using Samsa.Serialization;

namespace Samsa.IntegrationTests.Producer;

/// <summary>
/// <see cref="IAsyncSerializer{T}"/>: ProduceAsync awaits it and appends the bytes it wrote; records whose
/// serialization waits keep their call order; a failure fails that record alone; Produce refuses it
/// unless wrapped with AsSyncOverAsync; a cancelled wait withdraws the record.
/// </summary>
[Collection(MockClusterCollectionDefinition.Name)]
public sealed class AsyncSerializerTests(MockClusterFixture fixture)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private ProducerOptions Options() => new()
    {
        BootstrapServers = fixture.BootstrapServers.Split(','),
        Linger = TimeSpan.FromMilliseconds(2),
    };

    [Fact]
    public async Task RecordsWhoseSerializationWaitsAreAppendedInCallOrder()
    {
        var topic = fixture.CreateTopic(1, "async-order");
        // Each value's serialization completes only when the test releases it, last produced first.
        var serializer = new GatedSerializer();
        await using var producer = new ProducerBuilder<string, string>(Options()).SetValueSerializer(serializer).Build();

        var values = Enumerable.Range(0, 20).Select(i => $"v{i:D2}").ToList();
        var sends = values.Select(v => producer.ProduceAsync(new ProducerRecord<string, string>(topic, "k", v)).AsTask()).ToList();
        for (var i = values.Count - 1; i >= 0; i--)
        {
            await serializer.Release(values[i]);
        }

        var results = await Task.WhenAll(sends).WaitAsync(Bound);
        Assert.Equal(Enumerable.Range(0, 20).Select(i => results[0].Offset + i), results.Select(r => r.Offset));
        var log = RecordReader.ReadAll(fixture.BootstrapServers, topic, values.Count);
        Assert.Equal(values.Select(v => "schema-1:" + v), log.Select(r => Encoding.UTF8.GetString(r.Value!)));
    }

    [Fact]
    public async Task ASerializerThatCompletesAtOnceTakesTheDirectPathAndCanAddHeaders()
    {
        var topic = fixture.CreateTopic(1, "async-sync");
        await using var producer = new ProducerBuilder<string, string>(Options())
            .SetKeySerializer(new CompletedSerializer())
            .SetValueSerializer(new CompletedSerializer())
            .Build();

        var result = await producer.ProduceAsync(new ProducerRecord<string, string>(topic, "key", "value") { Headers = new Headers() }).AsTask().WaitAsync(Bound);
        Assert.Equal(PersistenceStatus.Persisted, result.Status);
        var record = Assert.Single(RecordReader.ReadAll(fixture.BootstrapServers, topic, 1));
        Assert.Equal("KEY", Encoding.UTF8.GetString(record.Key!));
        Assert.Equal("VALUE", Encoding.UTF8.GetString(record.Value!));
        Assert.Contains(record.Headers, h => h.Key == "serialized-by" && Encoding.UTF8.GetString(h.Value!) == "value");
    }

    [Fact]
    public async Task AThrowingAsyncSerializerFailsThatRecordAloneWithItsOwnCode()
    {
        var topic = fixture.CreateTopic(1, "async-throw");
        await using var producer = new ProducerBuilder<string, string>(Options()).SetValueSerializer(new ThrowingSerializer("bad")).Build();

        var before = producer.ProduceAsync(new ProducerRecord<string, string>(topic, "k", "before")).AsTask();
        var bad = producer.ProduceAsync(new ProducerRecord<string, string>(topic, "k", "bad")).AsTask();
        var after = producer.ProduceAsync(new ProducerRecord<string, string>(topic, "k", "after")).AsTask();

        var error = await Assert.ThrowsAsync<SerializationException>(() => bad.WaitAsync(Bound));
        Assert.Equal(ErrorCode.LocalValueSerialization, error.ErrorCode);
        Assert.Equal(PersistenceStatus.NotPersisted, error.PersistenceStatus);
        Assert.IsType<FormatException>(error.InnerException);
        await Task.WhenAll(before, after).WaitAsync(Bound);
        var log = RecordReader.ReadAll(fixture.BootstrapServers, topic, 2);
        Assert.Equal(["schema-1:before", "schema-1:after"], log.Select(r => Encoding.UTF8.GetString(r.Value!)));
    }

    [Fact]
    public async Task ProduceRefusesAnAsyncSerializerUnlessWrappedAsSyncOverAsync()
    {
        var topic = fixture.CreateTopic(1, "async-produce");
        await using (var producer = new ProducerBuilder<string, string>(Options()).SetValueSerializer(new CompletedSerializer()).Build())
        {
            var error = Assert.Throws<InvalidOperationException>(() => producer.Produce(new ProducerRecord<string, string>(topic, "k", "v")));
            Assert.Contains("AsSyncOverAsync", error.Message, StringComparison.Ordinal);
            Assert.Throws<InvalidOperationException>(() => producer.TryProduce(new ProducerRecord<string, string>(topic, "k", "v")));
        }

        await using var wrapped = new ProducerBuilder<string, string>(Options()).SetValueSerializer(new YieldingSerializer().AsSyncOverAsync()).Build();
        var delivered = new TaskCompletionSource<DeliveryReport>(TaskCreationOptions.RunContinuationsAsynchronously);
        wrapped.Produce(new ProducerRecord<string, string>(topic, "k", "blocking"), r => delivered.TrySetResult(r));
        Assert.True((await delivered.Task.WaitAsync(Bound)).IsSuccess);
        Assert.Equal("yielded:blocking", Encoding.UTF8.GetString(Assert.Single(RecordReader.ReadAll(fixture.BootstrapServers, topic, 1)).Value!));
    }

    [Fact]
    public async Task CancellingWhileTheSerializerWaitsWithdrawsTheRecord()
    {
        var topic = fixture.CreateTopic(1, "async-cancel");
        var serializer = new GatedSerializer();
        await using var producer = new ProducerBuilder<string, string>(Options()).SetValueSerializer(serializer).Build();

        using var cancel = new CancellationTokenSource();
        var withdrawn = producer.ProduceAsync(new ProducerRecord<string, string>(topic, "k", "withdrawn"), cancel.Token).AsTask();
        var kept = producer.ProduceAsync(new ProducerRecord<string, string>(topic, "k", "kept")).AsTask();
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => withdrawn.WaitAsync(Bound));
        await serializer.Release("kept");
        await kept.WaitAsync(Bound);
        await producer.FlushAsync().WaitAsync(Bound);

        Assert.Equal(["schema-1:kept"], RecordReader.ReadPartition(fixture.BootstrapServers, topic, 0).Select(r => Encoding.UTF8.GetString(r.Value!)));
    }

    /// <summary>Writes "schema-1:" and the value once the test releases that value (or its token is cancelled).</summary>
    private sealed class GatedSerializer : IAsyncSerializer<string>
    {
        private readonly ConcurrentDictionary<string, TaskCompletionSource> _gates = new();

        public Task Release(string value)
        {
            Gate(value).TrySetResult();
            return Task.CompletedTask;
        }

        public async ValueTask SerializeAsync(string value, IBufferWriter<byte> output, SerializationContext context, CancellationToken cancellationToken)
        {
            await Gate(value).Task.WaitAsync(cancellationToken);
            output.Write(Encoding.UTF8.GetBytes("schema-1:" + value));
        }

        private TaskCompletionSource Gate(string value) => _gates.GetOrAdd(value, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
    }

    private sealed class CompletedSerializer : IAsyncSerializer<string>
    {
        public ValueTask SerializeAsync(string value, IBufferWriter<byte> output, SerializationContext context, CancellationToken cancellationToken)
        {
            output.Write(Encoding.UTF8.GetBytes(value.ToUpperInvariant()));
            if (context.Component == MessageComponentType.Value)
            {
                context.Headers?.Add("serialized-by", "value"u8.ToArray());
            }

            return ValueTask.CompletedTask;
        }
    }

    private sealed class YieldingSerializer : IAsyncSerializer<string>
    {
        public async ValueTask SerializeAsync(string value, IBufferWriter<byte> output, SerializationContext context, CancellationToken cancellationToken)
        {
            await Task.Yield();
            output.Write(Encoding.UTF8.GetBytes("yielded:" + value));
        }
    }

    private sealed class ThrowingSerializer(string poison) : IAsyncSerializer<string>
    {
        public async ValueTask SerializeAsync(string value, IBufferWriter<byte> output, SerializationContext context, CancellationToken cancellationToken)
        {
            await Task.Yield();
            if (value == poison)
            {
                throw new FormatException("not in the schema");
            }

            output.Write(Encoding.UTF8.GetBytes("schema-1:" + value));
        }
    }
}
