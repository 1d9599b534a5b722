using System.Collections.Concurrent;
using System.Text;
using Microsoft.Extensions.Logging;
using Samsa.IntegrationTests.Infrastructure;
using Samsa.Testing;

namespace Samsa.IntegrationTests.Producer;

/// <summary>IProducerInterceptor: what OnSend changes is what is stored; order; failures never fail a record.</summary>
[Collection(MockClusterCollectionDefinition.Name)]
public sealed class InterceptorTests(MockClusterFixture fixture)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task WhatOnSendReturnsIsWhatTheConsumerReadsBack()
    {
        var topic = fixture.CreateTopic(1);
        var stamp = new StampingInterceptor("one");
        await using var producer = Builder().AddInterceptor(stamp).Build();

        var result = await producer.ProduceAsync(new ProducerRecord<string, string>(topic, "key", "value")).AsTask().WaitAsync(Bound);

        var read = Assert.Single(RecordReader.ReadAll(fixture.BootstrapServers, topic, 1));
        Assert.Equal("value+one", Encoding.UTF8.GetString(read.Value!));
        Assert.Equal("key", Encoding.UTF8.GetString(read.Key!));
        var header = Assert.Single(read.Headers);
        Assert.Equal(("stamped-by", "one"), (header.Key, Encoding.UTF8.GetString(header.Value!)));

        // OnAcknowledgement saw the acknowledged record where it was written.
        var ack = Assert.Single(stamp.Acknowledged);
        Assert.True(ack.IsSuccess);
        Assert.Equal((topic, result.Partition, result.Offset), (ack.Topic, ack.Partition, ack.Offset));
    }

    [Fact]
    public async Task SeveralInterceptorsRunInTheOrderTheyWereAdded()
    {
        var topic = fixture.CreateTopic(1);
        var order = new ConcurrentQueue<string>();
        var first = new StampingInterceptor("a", order);
        var second = new StampingInterceptor("b", order);
        var handled = new TaskCompletionSource<DeliveryReport>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var producer = Builder().AddInterceptor(first).AddInterceptor(second).Build();

        producer.Produce(new ProducerRecord<string, string>(topic, "k", "v"), report =>
        {
            // Both acknowledgements ran before the delivery handler.
            order.Enqueue("handler");
            handled.TrySetResult(report);
        });

        Assert.True((await handled.Task.WaitAsync(Bound)).IsSuccess);
        Assert.Equal(["send:a", "send:b", "ack:a", "ack:b", "handler"], order.ToArray());
        var read = Assert.Single(RecordReader.ReadAll(fixture.BootstrapServers, topic, 1));
        Assert.Equal("v+a+b", Encoding.UTF8.GetString(read.Value!));
        Assert.Equal(["a", "b"], read.Headers.Select(h => Encoding.UTF8.GetString(h.Value!)));
    }

    [Fact]
    public async Task AThrowingInterceptorIsLoggedAndTheRecordIsStillDelivered()
    {
        var topic = fixture.CreateTopic(1);
        var log = new ListLoggerFactory();
        var after = new StampingInterceptor("after");
        await using var producer = Builder()
            .SetLoggerFactory(log)
            .AddInterceptor(new StampingInterceptor("before"))
            .AddInterceptor(new ThrowingInterceptor())
            .AddInterceptor(after)
            .Build();

        var result = await producer.ProduceAsync(new ProducerRecord<string, string>(topic, "k", "v")).AsTask().WaitAsync(Bound);

        // The thrower's change is lost; the record goes on as "before" returned it, and "after" still runs.
        Assert.True(result.Offset >= 0);
        var read = Assert.Single(RecordReader.ReadAll(fixture.BootstrapServers, topic, 1));
        Assert.Equal("v+before+after", Encoding.UTF8.GetString(read.Value!));
        Assert.Single(after.Acknowledged);

        var onSend = Assert.Single(log.Entries, e => e.EventId == SamsaLogEvents.InterceptorOnSendFailed);
        Assert.Equal(LogLevel.Error, onSend.Level);
        Assert.Contains(nameof(ThrowingInterceptor), onSend.Message, StringComparison.Ordinal);
        Assert.Contains("OnSend broke", onSend.Exception, StringComparison.Ordinal);
        var onAck = Assert.Single(log.Entries, e => e.EventId == SamsaLogEvents.InterceptorOnAcknowledgementFailed);
        Assert.Equal(LogLevel.Error, onAck.Level);
        Assert.Contains("OnAcknowledgement broke", onAck.Exception, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OnAcknowledgementSeesFailuresBeforeTheCallerDoes()
    {
        var topic = fixture.CreateTopic(1);
        var seen = new StampingInterceptor("x");
        await using var producer = Builder().AddInterceptor(seen).Build();

        // Refused before it reaches a batch: partition 4 of a one-partition topic.
        var invalid = await Assert.ThrowsAsync<InvalidRecordException>(
            () => producer.ProduceAsync(new ProducerRecord<string, string>(topic, 4, "k", "v")).AsTask().WaitAsync(Bound));
        var ack = Assert.Single(seen.Acknowledged);
        Assert.False(ack.IsSuccess);
        Assert.Same(invalid, ack.Error);
        Assert.Equal(topic, ack.Topic);
        Assert.Equal(-1, ack.Offset);
    }

    [Fact]
    public async Task OnAcknowledgementSeesABrokerRefusalBeforeTheDeliveryHandler()
    {
        ConfluentLoader.EnsureLoaded();
        using var cluster = MockCluster.Start(1);
        cluster.CreateTopic("refusing", 1);
        var order = new ConcurrentQueue<string>();
        var seen = new StampingInterceptor("x", order);
        await using var producer = new ProducerBuilder<string, string>(new ProducerOptions { BootstrapServers = cluster.BootstrapServers.Split(','), EnableIdempotence = false })
            .AddInterceptor(seen)
            .Build();
        await producer.ProduceAsync(new ProducerRecord<string, string>("refusing", "warm-up")).AsTask().WaitAsync(Bound);

        cluster.PushRequestErrors(KafkaApiKey.Produce, TopicAuthorizationFailed);
        var handled = new TaskCompletionSource<DeliveryReport>(TaskCreationOptions.RunContinuationsAsynchronously);
        producer.Produce(new ProducerRecord<string, string>("refusing", "k", "v"), report =>
        {
            order.Enqueue("handler");
            handled.TrySetResult(report);
        });

        var report = await handled.Task.WaitAsync(Bound);
        Assert.False(report.IsSuccess);
        var ack = seen.Acknowledged.Last();
        Assert.Same(report.Error, ack.Error);
        Assert.Equal(("refusing", 0), (ack.Topic, ack.Partition));
        Assert.Equal(["ack:x", "handler"], order.Where(s => s is "ack:x" or "handler").TakeLast(2));
        Assert.Equal(2, seen.Acknowledged.Count);
        Assert.Equal(2, seen.Sent);
    }

    private const short TopicAuthorizationFailed = 29;

    private ProducerBuilder<string, string> Builder() =>
        new(new ProducerOptions { BootstrapServers = fixture.BootstrapServers.Split(','), MaxBlock = TimeSpan.FromSeconds(10) });

    /// <summary>Appends "+name" to the value and a header, and records what it saw.</summary>
    private sealed class StampingInterceptor(string name, ConcurrentQueue<string>? order = null) : IProducerInterceptor<string, string>
    {
        private int _sent;

        public ConcurrentQueue<DeliveryReport> Acknowledged { get; } = new();

        public int Sent => Volatile.Read(ref _sent);

        public ProducerRecord<string, string> OnSend(ProducerRecord<string, string> record)
        {
            Interlocked.Increment(ref _sent);
            order?.Enqueue($"send:{name}");
            var headers = new Headers();
            foreach (var header in record.Headers ?? [])
            {
                headers.Add(header.Key, header.Value);
            }

            return record with { Value = $"{record.Value}+{name}", Headers = headers.Add("stamped-by", name) };
        }

        public void OnAcknowledgement(DeliveryReport report)
        {
            order?.Enqueue($"ack:{name}");
            Acknowledged.Enqueue(report);
        }
    }

    private sealed class ThrowingInterceptor : IProducerInterceptor<string, string>
    {
        public ProducerRecord<string, string> OnSend(ProducerRecord<string, string> record) =>
            throw new InvalidOperationException("OnSend broke");

        public void OnAcknowledgement(DeliveryReport report) =>
            throw new InvalidOperationException("OnAcknowledgement broke");
    }
}
