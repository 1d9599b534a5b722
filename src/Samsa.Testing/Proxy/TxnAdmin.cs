using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Samsa.Testing.Proxy;

/// <summary>
/// The two requests <see cref="KafkaProxy.FenceAsync"/> sends to the mock itself, on a connection of its own:
/// FindCoordinator v1 (key type 1, transaction) and InitProducerId v3 (with the producer id and epoch, KIP-360).
/// </summary>
internal static class TxnAdmin
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    /// <summary>The node id of the transaction coordinator for <paramref name="transactionalId"/>, or -1 on an error.</summary>
    public static async Task<int> FindTransactionCoordinatorAsync(int port, string transactionalId, CancellationToken ct)
    {
        var body = new List<byte>();
        ClassicString(body, transactionalId);
        body.Add(1); // key type: transaction
        var answer = await CallAsync(port, apiKey: 10, version: 1, flexible: false, body, ct).ConfigureAwait(false);
        var r = new WireReader(answer);
        _ = r.ReadInt32(); // correlation id
        _ = r.ReadInt32(); // throttle
        var error = r.ReadInt16();
        _ = r.ReadString(compact: false); // error message
        var node = r.ReadInt32();
        return error == 0 ? node : -1;
    }

    /// <summary>InitProducerId v3 with the current producer id and epoch: the coordinator moves to the next epoch.</summary>
    public static async Task<(short Error, long ProducerId, short Epoch)> BumpEpochAsync(int port, string transactionalId, long producerId, short epoch, CancellationToken ct)
    {
        var body = new List<byte>();
        var id = Encoding.UTF8.GetBytes(transactionalId);
        UVarInt(body, (uint)id.Length + 1); // compact string
        body.AddRange(id);
        Int32(body, 60_000); // transaction timeout
        Int64(body, producerId);
        Int16(body, epoch);
        body.Add(0); // tagged fields
        var answer = await CallAsync(port, TxnWire.InitProducerId, version: 3, flexible: true, body, ct).ConfigureAwait(false);
        return TxnWire.ReadInitProducerIdResponse(answer, 3);
    }

    private static async Task<byte[]> CallAsync(int port, short apiKey, short version, bool flexible, List<byte> body, CancellationToken ct)
    {
        var frame = new List<byte>();
        Int16(frame, apiKey);
        Int16(frame, version);
        Int32(frame, 1); // correlation id
        ClassicString(frame, "samsa-testing-proxy");
        if (flexible)
        {
            frame.Add(0); // request header v2: tagged fields
        }

        frame.AddRange(body);
        var bytes = new byte[4 + frame.Count];
        BinaryPrimitives.WriteInt32BigEndian(bytes, frame.Count);
        frame.CopyTo(bytes, 4);

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(Bound);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), timeout.Token).ConfigureAwait(false);
        await socket.SendAsync(bytes, SocketFlags.None, timeout.Token).ConfigureAwait(false);
        var size = new byte[4];
        await ReceiveAsync(socket, size, timeout.Token).ConfigureAwait(false);
        var answer = new byte[BinaryPrimitives.ReadInt32BigEndian(size)];
        await ReceiveAsync(socket, answer, timeout.Token).ConfigureAwait(false);
        return answer;
    }

    private static async Task ReceiveAsync(Socket socket, Memory<byte> buffer, CancellationToken ct)
    {
        while (buffer.Length > 0)
        {
            var n = await socket.ReceiveAsync(buffer, SocketFlags.None, ct).ConfigureAwait(false);
            if (n == 0)
            {
                throw new EndOfStreamException();
            }

            buffer = buffer[n..];
        }
    }

    private static void Int16(List<byte> to, short v) => to.AddRange([(byte)(v >> 8), (byte)v]);

    private static void Int32(List<byte> to, int v) => to.AddRange([(byte)(v >> 24), (byte)(v >> 16), (byte)(v >> 8), (byte)v]);

    private static void Int64(List<byte> to, long v)
    {
        Int32(to, (int)(v >> 32));
        Int32(to, (int)v);
    }

    private static void ClassicString(List<byte> to, string s)
    {
        var bytes = Encoding.UTF8.GetBytes(s);
        Int16(to, (short)bytes.Length);
        to.AddRange(bytes);
    }

    private static void UVarInt(List<byte> to, uint v)
    {
        while (v >= 0x80)
        {
            to.Add((byte)(v | 0x80));
            v >>= 7;
        }

        to.Add((byte)v);
    }
}
