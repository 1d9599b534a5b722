namespace Samsa.Sample;

/// <summary>Outcomes of the measured records, updated from the producer's reporting thread and the awaiting loop.</summary>
internal static class Counters
{
    private static long _acknowledged;
    private static long _failed;
    private static KafkaException? _firstError;

    public static long Acknowledged => Interlocked.Read(ref _acknowledged);

    public static long Failed => Interlocked.Read(ref _failed);

    public static KafkaException? FirstError => Volatile.Read(ref _firstError);

    /// <summary>The one delivery handler every record of callback mode shares.</summary>
    public static void OnDelivery(DeliveryReport report)
    {
        if (report.IsSuccess)
        {
            Interlocked.Increment(ref _acknowledged);
        }
        else
        {
            Interlocked.Increment(ref _failed);
            Interlocked.CompareExchange(ref _firstError, report.Error, null);
        }
    }

    public static async ValueTask AwaitOne(ValueTask<DeliveryResult> pending)
    {
        try
        {
            await pending.ConfigureAwait(false);
            Interlocked.Increment(ref _acknowledged);
        }
        catch (KafkaException e)
        {
            Interlocked.Increment(ref _failed);
            Interlocked.CompareExchange(ref _firstError, e, null);
        }
    }
}
