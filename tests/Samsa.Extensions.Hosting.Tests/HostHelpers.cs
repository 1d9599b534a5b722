using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Samsa.IntegrationTests.Infrastructure;
using Samsa.Testing;

namespace Samsa.Extensions.Hosting.Tests;

/// <summary>Builds real generic hosts over JSON configuration, and one mock cluster per test class.</summary>
internal static class HostHelpers
{
    /// <summary>Bounds waits; never an assertion.</summary>
    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    /// <summary>A host builder without the default sources (no appsettings.json or environment from the test machine), with <paramref name="json"/> as its configuration.</summary>
    public static HostApplicationBuilder Builder(string json)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json)));
        return builder;
    }

    /// <summary>The JSON of a <c>Kafka:Producer</c> section holding <paramref name="properties"/>.</summary>
    public static string ProducerJson(params (string Key, string Value)[] properties) =>
        "{ \"Kafka\": { \"Producer\": { " + string.Join(", ", properties.Select(p => $"\"{p.Key}\": \"{p.Value}\"")) + " } } }";
}

/// <summary>One 1-broker mock cluster for a test class; also loads librdkafka into Confluent.Kafka for the reader.</summary>
public sealed class ClusterFixture : IDisposable
{
    private int _topics;

    public ClusterFixture()
    {
        ConfluentLoader.EnsureLoaded();
        Cluster = MockCluster.Start(1);
    }

    public MockCluster Cluster { get; }

    public string BootstrapServers => Cluster.BootstrapServers;

    public string CreateTopic(string prefix, int partitions = 1)
    {
        var name = $"{prefix}-{Interlocked.Increment(ref _topics)}-{Guid.NewGuid():N}";
        Cluster.CreateTopic(name, partitions);
        return name;
    }

    public void Dispose() => Cluster.Dispose();
}
