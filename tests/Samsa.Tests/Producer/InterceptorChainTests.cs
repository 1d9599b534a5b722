using Microsoft.Extensions.Logging;
using Samsa.Producer.Internal;

namespace Samsa.Tests.Producer;

public sealed class InterceptorChainTests
{
    [Fact]
    public void OnSendPassesEachInterceptorsRecordToTheNextAndSkipsOneThatThrows()
    {
        var log = new CountingLogger();
        var chain = new InterceptorChain<string, string>([new Append("a"), new Throwing(), new Append("b")], log);

        var sent = chain.OnSend(new ProducerRecord<string, string>("t", "k", "v"));

        Assert.Equal("v+a+b", sent.Value);
        Assert.Equal(("t", "k"), (sent.Topic, sent.Key));
        Assert.Equal([SamsaLogEvents.InterceptorOnSendFailed], log.EventIds);
    }

    [Fact]
    public void OnAcknowledgementReachesEveryInterceptorWhateverOneThrows()
    {
        var log = new CountingLogger();
        var first = new Append("a");
        var last = new Append("b");
        var chain = new InterceptorChain<string, string>([first, new Throwing(), last], log);
        var error = new KafkaTimeoutException("gone");

        for (var i = 0; i < 3; i++)
        {
            chain.OnAcknowledgement(new DeliveryReport(new DeliveryResult("t", 2, -1, default), error));
        }

        Assert.Equal(3, first.Acknowledged.Count);
        Assert.Equal(3, last.Acknowledged.Count);
        Assert.All(last.Acknowledged, r => Assert.Same(error, r.Error));
        Assert.Equal(2, last.Acknowledged[0].Partition);

        // Logged once, then held back by the rate limit.
        Assert.Equal([SamsaLogEvents.InterceptorOnAcknowledgementFailed], log.EventIds);
    }

    private sealed class Append(string suffix) : IProducerInterceptor<string, string>
    {
        public List<DeliveryReport> Acknowledged { get; } = [];

        public ProducerRecord<string, string> OnSend(ProducerRecord<string, string> record) => record with { Value = $"{record.Value}+{suffix}" };

        public void OnAcknowledgement(DeliveryReport report) => Acknowledged.Add(report);
    }

    private sealed class Throwing : IProducerInterceptor<string, string>
    {
        public ProducerRecord<string, string> OnSend(ProducerRecord<string, string> record) => throw new InvalidOperationException("send");

        public void OnAcknowledgement(DeliveryReport report) => throw new InvalidOperationException("ack");
    }

    private sealed class CountingLogger : ILogger
    {
        public List<int> EventIds { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            EventIds.Add(eventId.Id);
    }
}
