using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Samsa.Testing.Proxy;

/// <summary>
/// Requests the test kit sends to a mock broker itself, on a connection of their own (no proxy, no SASL): the
/// transaction front's, and the two of <see cref="KafkaProxy.FenceAsync"/> (FindCoordinator for the transaction
/// coordinator, then InitProducerId v3 with the producer id and epoch, KIP-360).
/// </summary>
internal static class TxnAdmin
{
    private static readonly TimeSpan FenceBound = TimeSpan.FromSeconds(30);

    /// <summary>The node id of the transaction coordinator for <paramref name="transactionalId"/>, or -1 on an error.</summary>
    public static async Task<int> FindTransactionCoordinatorAsync(int port, string transactionalId, CancellationToken ct)
    {
        var answer = await RoundTripAsync(port, TxnWire.FindTransactionCoordinatorRequest(1, transactionalId), FenceBound, ct).ConfigureAwait(false);
        return TxnWire.ReadFindCoordinatorNode(answer.AsSpan(4));
    }

    /// <summary>InitProducerId v3 with the current producer id and epoch: the coordinator moves to the next epoch.</summary>
    public static async Task<(short Error, long ProducerId, short Epoch)> BumpEpochAsync(int port, string transactionalId, long producerId, short epoch, CancellationToken ct)
    {
        var answer = await RoundTripAsync(port, TxnWire.InitProducerIdRequest(1, transactionalId, 60_000, producerId, epoch), FenceBound, ct).ConfigureAwait(false);
        return TxnWire.ReadInitProducerIdResponse(answer.AsSpan(4), 3);
    }

    /// <summary>One request to the broker at <paramref name="port"/> on a new connection; its answer with the size prefix.</summary>
    public static async Task<byte[]> RoundTripAsync(int port, byte[] request, TimeSpan bound, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(bound);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), timeout.Token).ConfigureAwait(false);
        await socket.SendAsync(request, SocketFlags.None, timeout.Token).ConfigureAwait(false);
        var size = new byte[4];
        await ReceiveAsync(socket, size, timeout.Token).ConfigureAwait(false);
        var frame = new byte[4 + BinaryPrimitives.ReadInt32BigEndian(size)];
        size.CopyTo(frame, 0);
        await ReceiveAsync(socket, frame.AsMemory(4), timeout.Token).ConfigureAwait(false);
        return frame;
    }

    private static async Task ReceiveAsync(Socket socket, Memory<byte> buffer, CancellationToken ct)
    {
        while (buffer.Length > 0)
        {
            var n = await socket.ReceiveAsync(buffer, SocketFlags.None, ct).ConfigureAwait(false);
            if (n == 0)
            {
                throw new EndOfStreamException("the broker closed the connection");
            }

            buffer = buffer[n..];
        }
    }
}
