using Microsoft.Extensions.Logging;
using Samsa.Diagnostics;

namespace Samsa.Producer.Internal;

/// <summary>What the untyped engine calls for every record's outcome: the interceptors' <c>OnAcknowledgement</c>.</summary>
internal interface IAcknowledgementSink
{
    void OnAcknowledgement(in DeliveryReport report);
}

/// <summary>
/// A producer's interceptors, in the order they were added. Neither method lets an interceptor's exception out: it is
/// logged (rate-limited) and the chain goes on, so an interceptor can never fail a record.
/// </summary>
internal sealed class InterceptorChain<TKey, TValue> : IAcknowledgementSink
{
    private static readonly TimeSpan FailureLogInterval = TimeSpan.FromSeconds(10);

    private readonly IProducerInterceptor<TKey, TValue>[] _interceptors;
    private readonly ILogger _logger;
    private readonly LogLimiter _sendFailures = new(FailureLogInterval);
    private readonly LogLimiter _acknowledgementFailures = new(FailureLogInterval);

    public InterceptorChain(IProducerInterceptor<TKey, TValue>[] interceptors, ILogger logger)
    {
        _interceptors = interceptors;
        _logger = logger;
    }

    /// <summary>Each interceptor's <c>OnSend</c> in turn; one that throws passes on the record it was given.</summary>
    public ProducerRecord<TKey, TValue> OnSend(ProducerRecord<TKey, TValue> record)
    {
        foreach (var interceptor in _interceptors)
        {
            try
            {
                record = interceptor.OnSend(record);
            }
            catch (Exception e)
            {
                if (_sendFailures.TryEnter(out var suppressed))
                {
                    InterceptorLog.OnSendFailed(_logger, e, interceptor.GetType().Name, record.Topic ?? "", suppressed);
                }
            }
        }

        return record;
    }

    public void OnAcknowledgement(in DeliveryReport report)
    {
        foreach (var interceptor in _interceptors)
        {
            try
            {
                interceptor.OnAcknowledgement(report);
            }
            catch (Exception e)
            {
                if (_acknowledgementFailures.TryEnter(out var suppressed))
                {
                    InterceptorLog.OnAcknowledgementFailed(_logger, e, interceptor.GetType().Name, report.Topic, report.Partition, suppressed);
                }
            }
        }
    }
}
