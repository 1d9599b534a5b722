using System.Net.Security;
using System.Net.Sockets;
using Samsa.Network;

namespace Samsa.Security;

/// <summary>A connection's bytes through TLS: an <see cref="SslStream"/> over the connected socket.</summary>
internal sealed class TlsTransport(Socket socket, SslStream stream, TlsConnector.Handshake handshake) : ConnectionTransport
{
    // Long enough for an alert already on its way to arrive; short against a connect timeout.
    private static readonly TimeSpan AlertGrace = TimeSpan.FromSeconds(1);

    public override ValueTask SendAsync(ReadOnlyMemory<byte> data) => stream.WriteAsync(data);

    public override ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken) =>
        stream.ReadAsync(buffer, cancellationToken);

    public override async ValueTask ShutdownSendAsync()
    {
        // close_notify first, so the broker sees a clean end of the TLS session, then the TCP half-close.
        await stream.ShutdownAsync().ConfigureAwait(false);
        socket.Shutdown(SocketShutdown.Send);
    }

    public override TimeSpan EarlyFailureGrace => AlertGrace;

    public override KafkaException? ExplainEarlyFailure(Exception error) => handshake.ExplainEarlyFailure(error);

    public override void Dispose()
    {
        // The socket first: that ends a read in progress, which the stream's own disposal would not.
        socket.Dispose();
        stream.Dispose();
    }
}
