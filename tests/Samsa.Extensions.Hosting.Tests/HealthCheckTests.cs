using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Samsa.Testing;
using static Samsa.Extensions.Hosting.Tests.HostHelpers;

namespace Samsa.Extensions.Hosting.Tests;

/// <summary>The health check, through ASP.NET Core's /health endpoint on a TestServer and through HealthCheckService.</summary>
public sealed class HealthCheckTests(ClusterFixture fixture) : IClassFixture<ClusterFixture>
{
    [Fact]
    public async Task AProducerConnectedToItsClusterIsHealthy()
    {
        var topic = fixture.CreateTopic("healthy");
        await using var app = await StartWebAppAsync(fixture.BootstrapServers);
        await app.Services.GetRequiredService<IProducer<string, string>>().ProduceAsync(new ProducerRecord<string, string>(topic, "k", "v")).AsTask().WaitAsync(Bound);

        using var response = await app.GetTestClient().GetAsync(new Uri("/health", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Healthy", await response.Content.ReadAsStringAsync());

        var entry = (await app.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync()).Entries["samsa-producer"];
        Assert.Equal(HealthStatus.Healthy, entry.Status);
        Assert.True((int)entry.Data["connected_brokers"] > 0);
    }

    [Fact]
    public async Task AProducerWhoseBrokersAreUnreachableIsDegraded()
    {
        // A port that was just free on loopback: connecting to it is refused. A short max.block.ms lets the
        // record waiting for metadata fail soon, so the flush on stop does not wait for it.
        await using var app = await StartWebAppAsync($"127.0.0.1:{ClosedPort()}", maxBlockMs: "2000");
        var producer = app.Services.GetRequiredService<IProducer<string, string>>();

        // Connections open on first use: this record's metadata request makes the producer try the broker.
        producer.Produce(new ProducerRecord<string, string>("unreachable", "k", "v"));
        var health = app.Services.GetRequiredService<HealthCheckService>();
        var report = await health.CheckHealthAsync();
        for (var deadline = DateTime.UtcNow + Bound; report.Status == HealthStatus.Healthy && DateTime.UtcNow < deadline;)
        {
            await Task.Delay(50);
            report = await health.CheckHealthAsync();
        }

        var entry = report.Entries["samsa-producer"];
        Assert.Equal(HealthStatus.Degraded, entry.Status);
        Assert.Contains("1 broker(s) unreachable (0 connected)", entry.Description, StringComparison.Ordinal);
        Assert.NotNull(entry.Exception);
        using var response = await app.GetTestClient().GetAsync(new Uri("/health", UriKind.Relative));
        Assert.Equal("Degraded", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task ADeadBootstrapEntryDoesNotDegradeAProducerThatFoundItsCluster()
    {
        // Bootstrap servers are tried in the order given: the dead one fails first, then the live one
        // gives the metadata. From then on the bootstrap list is not used, so the dead entry is no trouble.
        var topic = fixture.CreateTopic("dead-bootstrap");
        await using var app = await StartWebAppAsync($"127.0.0.1:{ClosedPort()},{fixture.BootstrapServers}");
        await app.Services.GetRequiredService<IProducer<string, string>>().ProduceAsync(new ProducerRecord<string, string>(topic, "k", "v")).AsTask().WaitAsync(Bound);

        var entry = (await app.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync()).Entries["samsa-producer"];
        Assert.Equal(HealthStatus.Healthy, entry.Status);
    }

    [Fact]
    public async Task AFatalProducerIsUnhealthy()
    {
        using var cluster = MockCluster.Start(1);
        cluster.PushRequestErrors(KafkaApiKey.InitProducerId, 31); // CLUSTER_AUTHORIZATION_FAILED: fatal
        await using var app = await StartWebAppAsync(cluster.BootstrapServers);
        var producer = app.Services.GetRequiredService<IProducer<string, string>>();
        await Assert.ThrowsAsync<ProducerFatalException>(() => producer.ProduceAsync(new ProducerRecord<string, string>("fatal", "k", "v")).AsTask().WaitAsync(Bound));

        using var response = await app.GetTestClient().GetAsync(new Uri("/health", UriKind.Relative));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("Unhealthy", await response.Content.ReadAsStringAsync());
        var entry = (await app.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync()).Entries["samsa-producer"];
        Assert.IsType<ProducerFatalException>(entry.Exception);
        Assert.Contains("CLUSTER_AUTHORIZATION_FAILED", entry.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NamedProducersGetTheirOwnCheckAndTheFailureStatusIsUsed()
    {
        using var cluster = MockCluster.Start(1);
        cluster.PushRequestErrors(KafkaApiKey.InitProducerId, 31);
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddSamsaProducer<string, string>("orders", o => o.Properties["bootstrap.servers"] = cluster.BootstrapServers)
            .AddHealthCheck(failureStatus: HealthStatus.Degraded, tags: ["ready"]);
        using var host = builder.Build();
        await host.StartAsync();
        var producer = host.Services.GetRequiredKeyedService<IProducer<string, string>>("orders");
        await Assert.ThrowsAsync<ProducerFatalException>(() => producer.ProduceAsync(new ProducerRecord<string, string>("fatal", "k", "v")).AsTask().WaitAsync(Bound));

        var report = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(r => r.Tags.Contains("ready"));
        Assert.Equal(HealthStatus.Degraded, report.Entries["samsa-producer-orders"].Status);
        await host.StopAsync();
    }

    [Fact]
    public async Task AProducerWhoseBufferIsNearlyFullIsDegraded()
    {
        // Records stay in their open batch until linger.ms (ten minutes) or batch.size: they hold 30 of the 32 KB of
        // buffer.memory for as long as the test looks, with no timing involved.
        var topic = fixture.CreateTopic("nearly-full");
        await using var app = await StartWebAppAsync(fixture.BootstrapServers, settings: [new("linger.ms", "600000"), new("batch.size", "1000000"), new("buffer.memory", "32768")]);
        var producer = app.Services.GetRequiredService<IProducer<string, string>>();
        var delivered = 0;
        for (var i = 0; i < 30; i++)
        {
            producer.Produce(new ProducerRecord<string, string>(topic, "k", new string('v', 960)), _ => Interlocked.Increment(ref delivered));
        }

        var entry = (await app.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync()).Entries["samsa-producer"];
        Assert.Equal(HealthStatus.Degraded, entry.Status);
        Assert.Contains("buffer.memory is", entry.Description, StringComparison.Ordinal);
        Assert.True((long)entry.Data["buffer_used_bytes"] >= 0.9 * 32768, $"{entry.Data["buffer_used_bytes"]} bytes used");
        Assert.Equal(0, Volatile.Read(ref delivered));

        await producer.FlushAsync().WaitAsync(Bound);
        Assert.Equal(30, Volatile.Read(ref delivered));
        entry = (await app.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync()).Entries["samsa-producer"];
        Assert.Equal(HealthStatus.Healthy, entry.Status);
    }

    // The mapping from a health snapshot to a status, at its edges.
    [Theory]
    [InlineData(0, 0, HealthStatus.Healthy)]
    [InlineData(899, 0, HealthStatus.Healthy)]
    [InlineData(900, 0, HealthStatus.Degraded)]
    [InlineData(0, 1, HealthStatus.Degraded)]
    public void TheBufferShareAndUnreachableBrokersDegrade(long used, int unreachable, HealthStatus expected)
    {
        var health = new ProducerHealth(null, used, 1000, 1, unreachable, unreachable > 0 ? new KafkaNetworkException("refused") : null);
        var result = ProducerHealthCheck.Evaluate(health, 0.9, HealthStatus.Unhealthy);
        Assert.Equal(expected, result.Status);
        Assert.Equal(used, result.Data["buffer_used_bytes"]);
    }

    [Fact]
    public void FatalWinsOverEverythingElse()
    {
        var fatal = new ProducerFatalException("gone", new KafkaNetworkException("cause"));
        var result = ProducerHealthCheck.Evaluate(new ProducerHealth(fatal, 1000, 1000, 0, 3, null), 0.9, HealthStatus.Unhealthy);
        Assert.Equal(HealthStatus.Unhealthy, result.Status);
        Assert.Same(fatal, result.Exception);
    }

    private static async Task<WebApplication> StartWebAppAsync(string bootstrapServers, string maxBlockMs = "30000", KeyValuePair<string, string?>[]? settings = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Configuration.AddInMemoryCollection([new("Kafka:Producer:bootstrap.servers", bootstrapServers), new("Kafka:Producer:max.block.ms", maxBlockMs)]);
        builder.Configuration.AddInMemoryCollection((settings ?? []).Select(s => new KeyValuePair<string, string?>("Kafka:Producer:" + s.Key, s.Value)));
        builder.Services.AddSamsaProducer<string, string>(builder.Configuration.GetSection("Kafka:Producer")).AddHealthCheck();
        var app = builder.Build();
        app.MapHealthChecks("/health");
        await app.StartAsync();
        return app;
    }

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
