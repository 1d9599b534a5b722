using System.Diagnostics;
using Samsa.Diagnostics;

namespace Samsa.Tests.Diagnostics;

public sealed class TelemetryUnitTests
{
    private static ProducerOptions Parse(params (string Key, string Value)[] settings) =>
        ProducerOptions.FromProperties(settings.Select(s => KeyValuePair.Create(s.Key, s.Value)));

    [Fact]
    public void TraceHeaderInjectionIsOnByDefaultAndTakesABoolean()
    {
        Assert.True(ProducerOptions.Default.InjectTraceHeaders);
        Assert.True(Parse(("bootstrap.servers", "b:9092")).InjectTraceHeaders);
        Assert.False(Parse(("samsa.tracing.inject.headers", "FALSE")).InjectTraceHeaders);
        Assert.True(Parse(("samsa.tracing.inject.headers", " true ")).InjectTraceHeaders);

        var invalid = Assert.Throws<ConfigException>(() => Parse(("samsa.tracing.inject.headers", "no")));
        Assert.Equal("samsa.tracing.inject.headers", invalid.Key);
        Assert.Contains("true or false", invalid.Message, StringComparison.Ordinal);

        var typo = Assert.Throws<ConfigException>(() => Parse(("samsa.tracing.inject.header", "true")));
        Assert.Contains("Did you mean 'samsa.tracing.inject.headers'", typo.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MetricsPushIsOnByDefaultAsInJava()
    {
        Assert.True(ProducerOptions.Default.EnableMetricsPush);
        Assert.False(Parse(("enable.metrics.push", "false")).EnableMetricsPush);
        Assert.Throws<ConfigException>(() => Parse(("enable.metrics.push", "sometimes")));
    }

    [Fact]
    public void PushedMetricsAreOnlyTheRequestedOnesAndDeltaSumsCountFromTheLastPush()
    {
        var totals = new RecordTotals();
        totals.RecordsSent(5); // before the subscription: a total counts from the start all the same
        var push = new PushMetrics(totals, () => 3, () => (100, 1000));
        push.NodeLatency(2, 10);
        push.NodeLatency(2, 30);

        var first = push.Collect(["org.apache.kafka.producer.record.send", "org.apache.kafka.producer.node."], delta: true);
        Assert.Equal(["org.apache.kafka.producer.node.request.latency.avg", "org.apache.kafka.producer.node.request.latency.max", "org.apache.kafka.producer.record.send.total"], first.Select(m => m.Name));
        Assert.Equal(20, first[0].Points.Single().Value);
        Assert.Equal("2", first[0].Points.Single().Attributes.Single(a => a.Key == "node_id").Value);
        Assert.Equal(30, first[1].Points.Single().Value);
        Assert.Equal(5, first[2].Points.Single().Value);

        totals.RecordsSent(2);
        var second = push.Collect([""], delta: true);
        Assert.Equal(2, second.Single(m => m.Name.EndsWith("record.send.total", StringComparison.Ordinal)).Points.Single().Value);
        Assert.DoesNotContain(second, m => m.Name.Contains("latency", StringComparison.Ordinal)); // nothing new in the window
        Assert.Equal(900, second.Single(m => m.Name.EndsWith("buffer.available.bytes", StringComparison.Ordinal)).Points.Single().Value);
        Assert.Empty(push.Collect([], delta: false));
    }

    [Fact]
    public void ErrorTypeIsTheBrokerCodeNameOrTheExceptionType()
    {
        Assert.Equal("NOT_LEADER_OR_FOLLOWER", ErrorTypes.Of(new KafkaBrokerException(ErrorCode.NotLeaderOrFollower, null, "t", 0)));
        Assert.Equal("UNSUPPORTED_VERSION", ErrorTypes.Of(new KafkaException("old broker", ErrorCode.UnsupportedVersion)));
        Assert.Equal("Samsa.KafkaException", ErrorTypes.Of(new KafkaException("something")));
        Assert.Equal("Samsa.BufferFullException", ErrorTypes.Of(new BufferFullException("full")));
        Assert.Equal("Samsa.KafkaTimeoutException", ErrorTypes.Of(new KafkaTimeoutException("late")));
    }

    [Fact]
    public void AnUnsampledRecordAllocatesNothing()
    {
        // No listener at all, then a listener that samples nothing: neither may cost the record an allocation.
        Assert.Equal(0, AllocatedByStart());

        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == SamsaTelemetry.ActivitySourceName,
            Sample = static (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.None,
        };
        ActivitySource.AddActivityListener(listener);
        Assert.True(SendTrace.Source.HasListeners());

        // With a listener, ActivitySource.StartActivity itself allocates a little per call (48 bytes on .NET 10)
        // even when nothing is sampled; Samsa adds nothing to that.
        var runtimeOwn = Measure(static () => SendTrace.Source.StartActivity("send", ActivityKind.Producer) is null && SendTrace.Source.StartActivity("send", ActivityKind.Producer) is null);
        Assert.InRange(AllocatedByStart(), 0, runtimeOwn);
    }

    [Fact]
    public void RootSpansAreOffByDefaultAndTakeABoolean()
    {
        Assert.False(ProducerOptions.Default.RootSpans);
        Assert.False(Parse(("bootstrap.servers", "b:9092")).RootSpans);
        Assert.True(Parse(("samsa.tracing.root.spans", "TRUE")).RootSpans);
        var invalid = Assert.Throws<ConfigException>(() => Parse(("samsa.tracing.root.spans", "off")));
        Assert.Equal("samsa.tracing.root.spans", invalid.Key);
    }

    [Fact]
    public void WithoutRootSpansARecordWithNoCurrentActivityIsNeverOfferedToTheSampler()
    {
        // The OpenTelemetry SDK's answer to a root it drops: an activity kept only to propagate the trace id.
        var testThread = Environment.CurrentManagedThreadId;
        var offered = 0;
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == SamsaTelemetry.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> options) =>
            {
                // Other test classes produce in parallel under this global listener: count this thread's calls only.
                if (Environment.CurrentManagedThreadId == testThread)
                {
                    offered++;
                }

                return options.Parent.TraceId == default ? ActivitySamplingResult.PropagationData : ActivitySamplingResult.AllDataAndRecorded;
            },
        };
        ActivitySource.AddActivityListener(listener);
        Activity.Current = null;

        // Offered, each unsampled root costs the record an activity; not offered, nothing.
        Assert.True(AllocatedByStart(rootSpans: true) > 100_000, "a PropagationData activity per record");
        offered = 0;
        Assert.Equal(0, AllocatedByStart(rootSpans: false));
        Assert.Equal(0, offered);

        // A record under the caller's activity is offered and traced either way.
        using var parent = new Activity("caller").SetIdFormat(ActivityIdFormat.W3C).Start();
        parent.ActivityTraceFlags = ActivityTraceFlags.Recorded;
        var child = SendTrace.Start("orders", "k", valueIsNull: false, "client", userHeaders: null, injectHeaders: true, rootSpans: false);
        Assert.NotNull(child);
        Assert.Equal(1, offered);
        Assert.Equal(parent.SpanId, child.Activity.ParentSpanId);
        child.Succeed("0", 7);
        Assert.Same(parent, Activity.Current);
    }

    [Fact]
    public void ASampledRecordGetsASpanThatIsNotTheCallersCurrentActivity()
    {
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == SamsaTelemetry.ActivitySourceName,
            Sample = static (ref ActivityCreationOptions<ActivityContext> options) =>
                options.Parent.TraceId == default ? ActivitySamplingResult.None : ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        using var parent = new Activity("caller").SetIdFormat(ActivityIdFormat.W3C).Start();
        parent.ActivityTraceFlags = ActivityTraceFlags.Recorded;

        var trace = SendTrace.Start("orders", "key-1", valueIsNull: false, "client", userHeaders: null, injectHeaders: true, rootSpans: true);

        Assert.NotNull(trace);
        Assert.Same(parent, Activity.Current);
        Assert.Equal(parent.SpanId, trace.Activity.ParentSpanId);
        Assert.Equal("orders send", trace.Activity.DisplayName);
        Assert.Equal("key-1", trace.Activity.GetTagItem("messaging.kafka.message.key"));
        var traceparent = Assert.Single(trace.InjectedHeaders, h => h.Key == "traceparent");
        Assert.Equal(trace.Activity.Id, System.Text.Encoding.ASCII.GetString(traceparent.Value!));

        // A key that is not a string is not recorded; headers are not injected when asked not to.
        var binary = SendTrace.Start("orders", new byte[] { 1 }, valueIsNull: true, "client", userHeaders: null, injectHeaders: false, rootSpans: true);
        Assert.NotNull(binary);
        Assert.Null(binary.Activity.GetTagItem("messaging.kafka.message.key"));
        Assert.Equal(true, binary.Activity.GetTagItem("messaging.kafka.message.tombstone"));
        Assert.Empty(binary.InjectedHeaders);

        binary.Succeed("3", 42);
        Assert.True(binary.Activity.IsStopped);
        Assert.Same(parent, Activity.Current);
        Assert.Equal("3", binary.Activity.GetTagItem("messaging.destination.partition.id"));
        Assert.Equal(42L, binary.Activity.GetTagItem("messaging.kafka.offset"));

        trace.Fail(new KafkaBrokerException(ErrorCode.MessageTooLarge, null, "orders", 1), "1");
        Assert.Equal(ActivityStatusCode.Error, trace.Activity.Status);
        Assert.Equal("MESSAGE_TOO_LARGE", trace.Activity.GetTagItem("error.type"));
        Assert.Same(parent, Activity.Current);
    }

    // A string key and a value-type key (which must not be boxed to be looked at).
    private static long AllocatedByStart(bool rootSpans = true) => rootSpans
        ? Measure(static () => SendTrace.Start("topic", "key", false, "client", null, true, rootSpans: true) is null && SendTrace.Start("topic", 42L, false, "client", null, true, rootSpans: true) is null)
        : Measure(static () => SendTrace.Start("topic", "key", false, "client", null, true, rootSpans: false) is null && SendTrace.Start("topic", 42L, false, "client", null, true, rootSpans: false) is null);

    // This thread's allocations over 1000 calls, after a warm-up (JIT, statics); -1 if a call returned false.
    private static long Measure(Func<bool> call)
    {
        call();
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            if (!call())
            {
                return -1;
            }
        }

        return GC.GetAllocatedBytesForCurrentThread() - before;
    }
}
