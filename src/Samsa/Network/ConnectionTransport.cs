using System.Net.Sockets;

namespace Samsa.Network;

/// <summary>
/// What a <see cref="BrokerConnection"/> reads from and writes to: the raw socket (PLAINTEXT) or a TLS stream
/// over it (<see cref="Security.TlsTransport"/>). The connection writes from one writer at a time (its write
/// lock) and reads from its one receive loop, so an implementation needs no locking of its own.
/// </summary>
internal abstract class ConnectionTransport : IDisposable
{
    /// <summary>Writes all of <paramref name="data"/>.</summary>
    public abstract ValueTask SendAsync(ReadOnlyMemory<byte> data);

    /// <summary>Whether <see cref="SendAsync(IList{ArraySegment{byte}})"/> writes the segments in one gathered write.</summary>
    public virtual bool CanGather => false;

    /// <summary>Writes all of the segments, in order (only where <see cref="CanGather"/>).</summary>
    public virtual ValueTask SendAsync(IList<ArraySegment<byte>> segments) =>
        throw new NotSupportedException($"{GetType().Name} does not gather writes.");

    /// <summary>Reads what has arrived into <paramref name="buffer"/>; 0 when the broker closed the connection.</summary>
    public abstract ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken);

    /// <summary>Closes the sending side, so that the broker reads to the end of what was written and closes its side.</summary>
    public abstract ValueTask ShutdownSendAsync();

    /// <summary>
    /// How long a failed write, before the connection's first answer, waits for the receive side to report the
    /// failure instead: a TLS 1.3 broker that refuses the client says why in an alert that arrives there.
    /// </summary>
    public virtual TimeSpan EarlyFailureGrace => TimeSpan.Zero;

    /// <summary>
    /// What a failure before the connection's first answer really was, when the transport can tell (a TLS alert:
    /// the broker refused the client); null for an ordinary network failure.
    /// </summary>
    public virtual KafkaException? ExplainEarlyFailure(Exception error) => null;

    /// <summary>Closes the connection at once; pending reads and writes fail.</summary>
    public abstract void Dispose();
}

/// <summary>PLAINTEXT: straight to the socket, no stream and no copy.</summary>
internal sealed class SocketTransport(Socket socket) : ConnectionTransport
{
    public override ValueTask SendAsync(ReadOnlyMemory<byte> data)
    {
        // The common case: the socket takes the whole frame at once, and no state machine is needed.
        var pending = socket.SendAsync(data, SocketFlags.None);
        if (!pending.IsCompletedSuccessfully)
        {
            return SendRestAsync(pending, data);
        }

        var sent = pending.Result;
        return sent == data.Length ? default : SendRestAsync(new ValueTask<int>(sent), data);
    }

    public override bool CanGather => true;

    public override async ValueTask SendAsync(IList<ArraySegment<byte>> segments)
    {
        var total = 0;
        foreach (var segment in segments)
        {
            total += segment.Count;
        }

        // sendmsg with the whole list; on a stream socket .NET completes the send only once all of it is written.
        var sent = await socket.SendAsync(segments, SocketFlags.None).ConfigureAwait(false);
        if (sent != total)
        {
            throw new IOException($"The socket took {sent} of the request's {total} bytes.");
        }
    }

    public override ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken) =>
        socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);

    public override ValueTask ShutdownSendAsync()
    {
        socket.Shutdown(SocketShutdown.Send);
        return default;
    }

    public override void Dispose() => socket.Dispose();

    private async ValueTask SendRestAsync(ValueTask<int> pending, ReadOnlyMemory<byte> data)
    {
        var sent = await pending.ConfigureAwait(false);
        var remaining = data[sent..];
        while (!remaining.IsEmpty)
        {
            sent = await socket.SendAsync(remaining, SocketFlags.None).ConfigureAwait(false);
            remaining = remaining[sent..];
        }
    }
}
