using System.Collections.Concurrent;
using System.Threading.Tasks.Sources;

namespace Samsa.Producer.Internal;

/// <summary>
/// The awaitable behind one <c>ProduceAsync</c> call. Pooled and reused, so awaiting a record
/// allocates no task: a <see cref="ValueTask{TResult}"/> points at this object until the result
/// is read, after which the object goes back to the pool. So the result must be read exactly
/// once: by the caller's await, or, when the caller may cancel its wait, by an <c>AsTask()</c>
/// wrapper that outlives the wait (see <c>KafkaProducer.WaitCancellableAsync</c>).
/// </summary>
internal sealed class DeliveryPromise : IValueTaskSource<DeliveryResult>
{
    // Enough for many records in flight at once without letting an idle pool hold much memory.
    private const int MaxPooled = 4096;
    private static readonly ConcurrentQueue<DeliveryPromise> Pool = new();
    private static int _pooledCount;

    // Continuations run on the thread pool so that user code after an await can never stall
    // the producer's completion loop.
    private ManualResetValueTaskSourceCore<DeliveryResult> _core = new() { RunContinuationsAsynchronously = true };

    // Set by the first completion: a second one is ignored rather than thrown from the reporting
    // loop (where it would stop the reports behind it). Cleared when the promise is reused.
    private int _completed;

    public ValueTask<DeliveryResult> Task => new(this, _core.Version);

    public static DeliveryPromise Rent()
    {
        if (Pool.TryDequeue(out var promise))
        {
            Interlocked.Decrement(ref _pooledCount);
            return promise;
        }

        return new DeliveryPromise();
    }

    public void Succeed(in DeliveryResult result)
    {
        if (Interlocked.Exchange(ref _completed, 1) == 0)
        {
            _core.SetResult(result);
        }
    }

    public void Fail(KafkaException error)
    {
        if (Interlocked.Exchange(ref _completed, 1) == 0)
        {
            _core.SetException(error);
        }
    }

    public DeliveryResult GetResult(short token)
    {
        try
        {
            return _core.GetResult(token);
        }
        finally
        {
            _core.Reset();
            Volatile.Write(ref _completed, 0);
            if (Interlocked.Increment(ref _pooledCount) <= MaxPooled)
            {
                Pool.Enqueue(this);
            }
            else
            {
                Interlocked.Decrement(ref _pooledCount);
            }
        }
    }

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
