using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Samsa.Cluster;
using Samsa.Network;
using Samsa.Security;
using Samsa.Testing.Tls;

namespace Samsa.IntegrationTests.Security;

/// <summary>
/// The TLS handshake of one connection against an in-process .NET TLS server (no stunnel): what it sends as SNI,
/// and that it is bounded by the connect timeout.
/// </summary>
public sealed class TlsConnectionTests : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);
    private readonly TlsCertificates _pki = TlsCertificates.Create();

    public void Dispose() => _pki.Dispose();

    [Theory]
    [InlineData("localhost", "localhost")]
    [InlineData("127.0.0.1", "")] // no SNI for an IP address (RFC 6066); the certificate's IP name is checked
    public async Task SniIsTheBrokersHostName(string host, string expectedSni)
    {
        using var server = X509Certificate2.CreateFromPemFile(_pki.ServerCertificatePath, _pki.ServerKeyPath);
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        string? sni = null;
        var serving = Task.Run(async () =>
        {
            using var accepted = await listener.AcceptTcpClientAsync();
            await using var tls = new SslStream(accepted.GetStream());
            await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
            {
                ServerCertificateSelectionCallback = (_, name) =>
                {
                    sni = name ?? "";
                    return server;
                },
            });
            await tls.ShutdownAsync();
        });

        var connector = TlsConnector.Create(TlsOptions.Default with { TruststoreType = TlsStoreType.Pem, TruststoreLocation = _pki.CaPath });
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, port);
        using var transport = await connector.HandshakeAsync(socket, new BrokerAddress(1, host, port), CancellationToken.None).WaitAsync(Bound);
        await serving.WaitAsync(Bound);
        Assert.Equal(expectedSni, sni);
    }

    [Fact]
    public async Task AHandshakeThatNeverEndsIsBoundedByTheConnectTimeout()
    {
        // A listener that accepts and then says nothing, like a broker port behind a broken proxy.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var settings = new ConnectionSettings("samsa-test", TimeSpan.FromMilliseconds(300), TimeSpan.FromSeconds(10), Tls: TlsConnector.Create(TlsOptions.Default));
        var started = DateTime.UtcNow;
        var error = await Assert.ThrowsAsync<KafkaNetworkException>(
            () => BrokerConnection.ConnectAsync(new BrokerAddress(1, "127.0.0.1", port), settings, IPAddress.Loopback, CancellationToken.None).WaitAsync(Bound));
        Assert.Contains("the TLS handshake did not finish within socket.connection.setup.timeout.ms (300 ms)", error.Message, StringComparison.Ordinal);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task ARefusalIsNotRetriedOnTheBrokersOtherAddresses()
    {
        // "localhost" may resolve to two addresses; a TLS refusal on the first must not be tried on the second.
        using var server = X509Certificate2.CreateFromPemFile(_pki.ServerCertificatePath, _pki.ServerKeyPath);
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var accepted = 0;
        var serving = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    using var client = await listener.AcceptTcpClientAsync();
                    Interlocked.Increment(ref accepted);
                    await using var tls = new SslStream(client.GetStream());
                    try
                    {
                        await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = server });
                    }
                    catch (Exception e) when (e is IOException or System.Security.Authentication.AuthenticationException)
                    {
                    }
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // The listener stopped at the end of the test.
            }
        });

        var untrusting = TlsConnector.Create(TlsOptions.Default); // the system's CAs do not know the test CA
        var resolver = new TwoAddresses();
        await using var connections = new BrokerConnections(
            new ConnectionSettings("samsa-test", TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(10), Tls: untrusting),
            TimeSpan.Zero, TimeSpan.Zero, TimeSpan.FromSeconds(10), TimeSpan.FromMinutes(5), resolver);
        KafkaAuthenticationException? reported = null;
        connections.AuthenticationFailed += e => reported = e;

        var error = await Assert.ThrowsAsync<SslAuthenticationException>(() => connections.GetAsync(new BrokerAddress(1, "broker.test", port), CancellationToken.None).WaitAsync(Bound));
        Assert.Same(error, reported);
        await Task.Delay(200);
        Assert.Equal(1, Volatile.Read(ref accepted));
        listener.Stop();
        await serving.WaitAsync(Bound);
    }

    private sealed class TwoAddresses : HostResolver
    {
        public override Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken) =>
            Task.FromResult(new[] { IPAddress.Loopback, IPAddress.Loopback });

        public override Task<string> CanonicalNameAsync(IPAddress address, CancellationToken cancellationToken) =>
            Task.FromResult(address.ToString());
    }
}
