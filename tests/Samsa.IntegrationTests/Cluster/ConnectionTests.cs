using System.Net;
using System.Net.Sockets;
using Samsa.Cluster;
using Samsa.IntegrationTests.Infrastructure;
using Samsa.Network;
using Samsa.Protocol.Messages;
using Samsa.Testing;

namespace Samsa.IntegrationTests.Cluster;

/// <summary>
/// <see cref="BrokerConnections"/> against the mock cluster: idle connections
/// (<c>connections.max.idle.ms</c>), name lookups (<c>client.dns.lookup</c>) and failed connects
/// (<c>socket.connection.setup.timeout.max.ms</c>).
/// </summary>
public sealed class ConnectionTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    public ConnectionTests() => ConfluentLoader.EnsureLoaded();

    [Fact]
    public async Task ConnectionIdleLongerThanMaxIdleIsClosedAndReplacedOnNextUse()
    {
        using var cluster = MockCluster.Start(1);
        await using var connections = NewConnections(maxIdle: TimeSpan.FromMilliseconds(200));
        var broker = Bootstrap(cluster);

        var first = await connections.GetAsync(broker, CancellationToken.None).WaitAsync(Bound);
        await WaitUntil(() => first.IsFailed);

        var second = await connections.GetAsync(broker, CancellationToken.None).WaitAsync(Bound);
        Assert.NotSame(first, second);
        Assert.False(second.IsFailed);
    }

    [Fact]
    public async Task ConnectionWithARequestInFlightIsNotClosedAsIdle()
    {
        using var cluster = MockCluster.Start(1);
        cluster.SetBrokerRoundTripTime(1, TimeSpan.FromMilliseconds(1500));
        await using var connections = NewConnections(maxIdle: TimeSpan.FromMilliseconds(100));
        var connection = await connections.GetAsync(Bootstrap(cluster), CancellationToken.None).WaitAsync(Bound);

        // The answer takes 1.5 s, many idle periods: the connection must stay open for it.
        var response = await connection.SendAsync(new MetadataRequest { Topics = [] }, 1).WaitAsync(Bound);
        Assert.NotEmpty(response.Brokers);
    }

    [Fact]
    public async Task ProducerReconnectsAfterItsIdleConnectionWasClosed()
    {
        using var cluster = MockCluster.Start(1);
        cluster.CreateTopic("idle", 1);
        var options = new ProducerOptions
        {
            BootstrapServers = cluster.BootstrapServers.Split(','),
            EnableIdempotence = false,
            Linger = TimeSpan.FromMilliseconds(1),
            MaxBlock = TimeSpan.FromSeconds(10),
            ConnectionsMaxIdle = TimeSpan.FromMilliseconds(200),
        };
        await using var producer = new ProducerBuilder<string, string>(options).Build();
        cluster.StartRequestTracking();

        Assert.Equal(0, (await producer.ProduceAsync(new ProducerRecord<string, string>("idle", "k", "v0")).AsTask().WaitAsync(Bound)).Offset);
        var connectsBefore = cluster.GetRequests().Count(r => r.Api == KafkaApiKey.ApiVersions);

        // Several idle periods pass with nothing to send: the connection is closed meanwhile.
        await Task.Delay(TimeSpan.FromMilliseconds(1500));
        Assert.Equal(1, (await producer.ProduceAsync(new ProducerRecord<string, string>("idle", "k", "v1")).AsTask().WaitAsync(Bound)).Offset);
        Assert.True(cluster.GetRequests().Count(r => r.Api == KafkaApiKey.ApiVersions) > connectsBefore, "the producer did not connect again");
    }

    [Fact]
    public async Task MaxIdleOfMinusOneKeepsConnectionsOpen()
    {
        using var cluster = MockCluster.Start(1);
        await using var connections = NewConnections(maxIdle: TimeSpan.FromMilliseconds(-1));
        var connection = await connections.GetAsync(Bootstrap(cluster), CancellationToken.None).WaitAsync(Bound);

        // Long enough for a short idle limit to have closed it many times over.
        await Task.Delay(TimeSpan.FromMilliseconds(500));
        Assert.False(connection.IsFailed);
        Assert.Same(connection, await connections.GetAsync(Bootstrap(cluster), CancellationToken.None).WaitAsync(Bound));
    }

    [Fact]
    public async Task EveryAddressOfABrokerNameIsTriedInTurn()
    {
        using var cluster = MockCluster.Start(1);
        var port = Bootstrap(cluster).Port;

        // The mock listens on 127.0.0.1 only, so 127.0.0.2 refuses.
        var resolver = new FakeResolver
        {
            ["dead.test"] = [IPAddress.Parse("127.0.0.2")],
            ["broker.test"] = [IPAddress.Parse("127.0.0.2"), IPAddress.Loopback],
        };
        await using var connections = NewConnections(resolver: resolver);
        await Assert.ThrowsAsync<KafkaNetworkException>(() => connections.GetAsync(new BrokerAddress(6, "dead.test", port), CancellationToken.None).WaitAsync(Bound));

        var connection = await connections.GetAsync(new BrokerAddress(7, "broker.test", port), CancellationToken.None).WaitAsync(Bound);
        Assert.False(connection.IsFailed);
        Assert.Equal("broker.test", connection.Address.Host);
    }

    [Fact]
    public async Task CanonicalBootstrapNamesAreUsedForTheFirstConnection()
    {
        using var cluster = MockCluster.Start(1);
        var port = Bootstrap(cluster).Port;
        var resolver = new FakeResolver
        {
            ["alias.test"] = [IPAddress.Loopback],
            ["canonical.test"] = [IPAddress.Loopback],
        };
        resolver.CanonicalNames[IPAddress.Loopback] = "canonical.test";
        await using var connections = NewConnections(resolver: resolver);
        using var metadata = new MetadataManager(
            [new BrokerAddress(-1, "alias.test", port)], connections, TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(5),
            ClientDnsLookup.ResolveCanonicalBootstrapServersOnly, resolver);

        var connection = await metadata.AnyConnectionAsync().WaitAsync(Bound);
        Assert.Equal("canonical.test", connection.Address.Host);
    }

    [Fact]
    public async Task FailedConnectsAreCountedForTheGrowingConnectTimeout()
    {
        await using var connections = NewConnections();
        var dead = new BrokerAddress(3, "127.0.0.1", ClosedPort());
        for (var attempt = 1; attempt <= 3; attempt++)
        {
            await Assert.ThrowsAsync<KafkaNetworkException>(() => connections.GetAsync(dead, CancellationToken.None).WaitAsync(Bound));
            Assert.Equal(attempt, connections.FailedConnectAttempts(3));
        }
    }

    private static BrokerConnections NewConnections(TimeSpan? maxIdle = null, HostResolver? resolver = null) => new(
        new ConnectionSettings("samsa-test", TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(10)),
        reconnectBackoff: TimeSpan.Zero,
        reconnectBackoffMax: TimeSpan.Zero,
        connectTimeoutMax: TimeSpan.FromSeconds(10),
        maxIdle: maxIdle ?? TimeSpan.FromMinutes(5),
        resolver ?? HostResolver.System);

    private static BrokerAddress Bootstrap(MockCluster cluster) => BrokerAddress.Parse(cluster.BootstrapServers.Split(',')[0]);

    private static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Bound;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the condition did not hold within the bound");
            await Task.Delay(20);
        }
    }

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private sealed class FakeResolver : HostResolver
    {
        private readonly Dictionary<string, IPAddress[]> _names = [];

        public Dictionary<IPAddress, string> CanonicalNames { get; } = [];

        public IPAddress[] this[string name]
        {
            set => _names[name] = value;
        }

        public override Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken) =>
            _names.TryGetValue(host, out var addresses)
                ? Task.FromResult(addresses)
                : Task.FromException<IPAddress[]>(new SocketException((int)SocketError.HostNotFound));

        public override Task<string> CanonicalNameAsync(IPAddress address, CancellationToken cancellationToken) =>
            Task.FromResult(CanonicalNames.TryGetValue(address, out var name) ? name : address.ToString());
    }
}
