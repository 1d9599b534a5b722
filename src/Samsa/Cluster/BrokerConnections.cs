using Samsa.Network;

namespace Samsa.Cluster;

/// <summary>
/// Hands out the one connection a producer keeps to each broker, connecting on first use and
/// again after a failure, no sooner than <c>reconnect.backoff.ms</c> (doubling up to
/// <c>reconnect.backoff.max.ms</c>) after the last failed attempt.
/// </summary>
internal sealed class BrokerConnections(ConnectionSettings settings, TimeSpan reconnectBackoff, TimeSpan reconnectBackoffMax) : IAsyncDisposable
{
    private readonly Dictionary<int, Slot> _slots = [];
    private bool _disposed;

    /// <summary>The connection to a broker by node id, connecting if there is none.</summary>
    public Task<BrokerConnection> GetAsync(BrokerAddress address, CancellationToken cancellationToken)
    {
        Slot slot;
        lock (_slots)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_slots.TryGetValue(address.NodeId, out slot!))
            {
                slot = new Slot();
                _slots[address.NodeId] = slot;
            }

            var current = slot.Connecting;
            if (current is not null && !(current.IsCompletedSuccessfully && current.Result.IsFailed) && !current.IsFaulted && !current.IsCanceled)
            {
                return current;
            }

            slot.Connecting = ConnectAsync(slot, address);
            return slot.Connecting.WaitAsync(cancellationToken);
        }
    }

    /// <summary>A live connection to any broker, for requests that any broker can answer.</summary>
    public BrokerConnection? AnyLive()
    {
        lock (_slots)
        {
            foreach (var slot in _slots.Values)
            {
                if (slot.Connecting is { IsCompletedSuccessfully: true } task && !task.Result.IsFailed)
                {
                    return task.Result;
                }
            }
        }

        return null;
    }

    public async ValueTask DisposeAsync()
    {
        List<Task<BrokerConnection>> open;
        lock (_slots)
        {
            _disposed = true;
            open = _slots.Values.Select(s => s.Connecting).OfType<Task<BrokerConnection>>().ToList();
            _slots.Clear();
        }

        foreach (var task in open)
        {
            if (task.IsCompletedSuccessfully)
            {
                await task.Result.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private async Task<BrokerConnection> ConnectAsync(Slot slot, BrokerAddress address)
    {
        var wait = slot.NextAttemptTicks - Environment.TickCount64;
        if (wait > 0)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(wait)).ConfigureAwait(false);
        }

        try
        {
            var connection = await BrokerConnection.ConnectAsync(address, settings, CancellationToken.None).ConfigureAwait(false);
            slot.Backoff = TimeSpan.Zero;
            return connection;
        }
        catch
        {
            slot.Backoff = slot.Backoff == TimeSpan.Zero ? reconnectBackoff : TimeSpan.FromTicks(Math.Min(slot.Backoff.Ticks * 2, reconnectBackoffMax.Ticks));
            slot.NextAttemptTicks = Environment.TickCount64 + (long)slot.Backoff.TotalMilliseconds;
            throw;
        }
    }

    private sealed class Slot
    {
        public Task<BrokerConnection>? Connecting;
        public TimeSpan Backoff;
        public long NextAttemptTicks;
    }
}
