namespace Samsa.Producer.Internal;

/// <summary>
/// Counts the batches one flush waits for. It starts at one for the flush itself, so that it
/// cannot complete while batches are still being registered.
/// </summary>
internal sealed class FlushWaiter
{
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _outstanding = 1;

    public Task Task => _done.Task;

    public void AddOne() => Interlocked.Increment(ref _outstanding);

    public void DoneOne()
    {
        if (Interlocked.Decrement(ref _outstanding) == 0)
        {
            _done.TrySetResult();
        }
    }

    /// <summary>Ends registration: from here on the last batch to finish completes the flush.</summary>
    public void Arm() => DoneOne();
}
