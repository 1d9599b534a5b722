using System.Diagnostics;
using System.Text;
using static Samsa.Diagnostics.TelemetryNames;

namespace Samsa.Diagnostics;

/// <summary>
/// What a record carries for telemetry from its call to its report: when it was accepted (for
/// <c>messaging.client.operation.duration</c>; 0 when nobody listens) and its "send" span, if sampled.
/// </summary>
internal readonly struct RecordTelemetry(long acceptedTimestamp, SendTrace? trace)
{
    /// <summary><see cref="Stopwatch.GetTimestamp"/> at the call; 0 when the duration histogram had no listener.</summary>
    public long AcceptedTimestamp { get; } = acceptedTimestamp;

    public SendTrace? Trace { get; } = trace;

    /// <summary>Headers to write after the record's own: the trace context, or none.</summary>
    public ReadOnlySpan<Header> ExtraHeaders => Trace is { } trace ? trace.InjectedHeaders : default;
}

/// <summary>
/// One record's "send" span (kind Producer), started only when a listener samples it, and the trace-context
/// headers (W3C <c>traceparent</c>/<c>tracestate</c>, through <see cref="DistributedContextPropagator.Current"/>)
/// written into the record after the caller's own headers, so a consumer continues the trace. An unsampled
/// record never gets one: the produce path then checks <see cref="ActivitySource.HasListeners"/> and allocates nothing.
/// </summary>
internal sealed class SendTrace
{
    public static readonly ActivitySource Source = new(SamsaTelemetry.ActivitySourceName, ProducerInstruments.Version);

    private static readonly Header[] s_noHeaders = [];

    private SendTrace(Activity activity, Header[] injectedHeaders)
    {
        Activity = activity;
        InjectedHeaders = injectedHeaders;
    }

    public Activity Activity { get; }

    /// <summary>The trace-context headers added to the record (none when injection is off).</summary>
    public Header[] InjectedHeaders { get; }

    /// <summary>
    /// Starts the span of a record for <paramref name="topic"/>, parented on <see cref="Activity.Current"/>, or returns
    /// null when no listener samples it. <see cref="Activity.Current"/> is left as it was: the span ends on the
    /// reporting loop, long after the call returned, and must not become the caller's ambient activity.
    /// </summary>
    /// <param name="topic">The record's topic.</param>
    /// <param name="key">The record's key: recorded as <c>messaging.kafka.message.key</c> only when it is a string.</param>
    /// <param name="valueIsNull">A null value (a tombstone).</param>
    /// <param name="clientId">The producer's client id.</param>
    /// <param name="userHeaders">The caller's headers: a trace-context field they hold already is not added again.</param>
    /// <param name="injectHeaders">Whether to write the trace context into the record's headers.</param>
    /// <param name="rootSpans">
    /// Whether a record with no <see cref="Activity.Current"/> may start a trace. When false (the default) such a record is
    /// not offered to the sampler at all, because the OpenTelemetry SDK answers a dropped root with <c>PropagationData</c> and the
    /// runtime then allocates an <see cref="Activity"/> per record only for Samsa to throw it away.
    /// </param>
    /// <typeparam name="TKey">The key's type: generic, so that a value-type key is never boxed on the way to the check.</typeparam>
    public static SendTrace? Start<TKey>(string topic, TKey? key, bool valueIsNull, string clientId, Headers? userHeaders, bool injectHeaders, bool rootSpans)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        var previous = Activity.Current;
        if (previous is null && !rootSpans)
        {
            return null;
        }

        // A constant name here, the real one once sampled: an unsampled call builds no string.
        var activity = Source.StartActivity(Send, ActivityKind.Producer);
        if (activity is null)
        {
            return null;
        }

        Activity.Current = previous;
        if (!activity.Recorded)
        {
            // Not sampled: the OpenTelemetry SDK still makes an activity for propagation (PropagationData). Samsa
            // keeps no span and writes no headers for such a record, so that an unsampled record costs no more
            // than that; a consumer starts its own trace for it.
            activity.Stop();
            return null;
        }

        activity.DisplayName = topic + " send";
        if (activity.IsAllDataRequested)
        {
            activity.SetTag(MessagingSystem, Kafka);
            activity.SetTag(MessagingOperationType, Send);
            activity.SetTag(MessagingOperationName, Send);
            activity.SetTag(DestinationName, topic);
            activity.SetTag(TelemetryNames.ClientId, clientId);
            if (key is string text)
            {
                activity.SetTag(MessageKey, text);
            }

            if (valueIsNull)
            {
                activity.SetTag(Tombstone, true);
            }
        }

        var headers = s_noHeaders;
        if (injectHeaders)
        {
            var carrier = new Carrier(userHeaders);
            DistributedContextPropagator.Current.Inject(activity, carrier, static (state, name, value) => ((Carrier)state!).Add(name, value));
            headers = carrier.Headers?.ToArray() ?? s_noHeaders;
        }

        return new SendTrace(activity, headers);
    }

    /// <summary>The serialized value's size, known once serialized.</summary>
    public void SetBodySize(int bytes)
    {
        if (Activity.IsAllDataRequested && bytes >= 0)
        {
            Activity.SetTag(BodySize, bytes);
        }
    }

    /// <summary>The broker stored the record: partition and offset (-1 when the broker did not say) are recorded, the span ends.</summary>
    public void Succeed(string partitionId, long offset)
    {
        if (Activity.IsAllDataRequested)
        {
            Activity.SetTag(PartitionId, partitionId);
            if (offset >= 0)
            {
                Activity.SetTag(Offset, offset);
            }
        }

        Stop();
    }

    /// <summary>The record failed for good: the span ends with an error status and <c>error.type</c>.</summary>
    public void Fail(KafkaException error, string? partitionId)
    {
        if (Activity.IsAllDataRequested)
        {
            if (partitionId is not null)
            {
                Activity.SetTag(PartitionId, partitionId);
            }

            Activity.SetTag(ErrorType, ErrorTypes.Of(error));
        }

        Activity.SetStatus(ActivityStatusCode.Error, error.Message);
        Stop();
    }

    /// <summary>The caller cancelled before the record was accepted: it was never sent.</summary>
    public void Cancel()
    {
        if (Activity.IsAllDataRequested)
        {
            Activity.SetTag(ErrorType, typeof(OperationCanceledException).FullName);
        }

        Activity.SetStatus(ActivityStatusCode.Error, "The call was cancelled before the record was accepted.");
        Stop();
    }

    // Activity.Stop makes the activity that was current at its start current again, on this thread: on the
    // reporting loop that would hand one caller's context to every later report. Keep this thread's own.
    private void Stop()
    {
        var current = Activity.Current;
        Activity.Stop();
        if (!ReferenceEquals(Activity.Current, current))
        {
            Activity.Current = current;
        }
    }

    private sealed class Carrier(Headers? userHeaders)
    {
        public List<Header>? Headers { get; private set; }

        public void Add(string name, string value)
        {
            // The caller propagates a context of its own on purpose (e.g. forwarding a record): leave it.
            if (userHeaders is not null && userHeaders.TryGetLastValue(name, out _))
            {
                return;
            }

            (Headers ??= new List<Header>(2)).Add(new Header(name, Encoding.UTF8.GetBytes(value)));
        }
    }
}
