using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Samsa.IntegrationTests.Infrastructure;
using static Samsa.Extensions.Hosting.Tests.HostHelpers;

namespace Samsa.Extensions.Hosting.Tests;

/// <summary>The host's ILoggerFactory reaches every area of every producer, with the producer's name in its categories.</summary>
public sealed class LoggingTests(ClusterFixture fixture) : IClassFixture<ClusterFixture>
{
    [Fact]
    public async Task ProducersLogThroughTheHostsLoggerFactoryByArea()
    {
        var topic = fixture.CreateTopic("logging");
        var json = $$"""
        {
          "Kafka": {
            "Producer": { "bootstrap.servers": "{{fixture.BootstrapServers}}" },
            "Orders": { "bootstrap.servers": "{{fixture.BootstrapServers}}" }
          }
        }
        """;
        var log = new ListLoggerFactory();
        var builder = Builder(json);
        builder.Logging.SetMinimumLevel(LogLevel.Debug).AddProvider(new ListLoggerProvider(log));
        builder.Services.AddSamsaProducer<string, string>(builder.Configuration.GetSection("Kafka:Producer"));
        builder.Services.AddSamsaProducer<string, string>("orders", builder.Configuration.GetSection("Kafka:Orders"));
        using var host = builder.Build();
        await host.StartAsync();

        var factory = host.Services.GetRequiredService<IProducerFactory>();
        await factory.GetProducer<string, string>("").ProduceAsync(new ProducerRecord<string, string>(topic, "k", "default")).AsTask().WaitAsync(Bound);
        await factory.GetProducer<string, string>("orders").ProduceAsync(new ProducerRecord<string, string>(topic, "k", "orders")).AsTask().WaitAsync(Bound);
        await host.StopAsync();

        var entries = log.Entries;
        Assert.Contains(entries, e => e.EventId == SamsaLogEvents.Connected && e.Category == "Samsa.Network");
        Assert.Contains(entries, e => e.EventId == SamsaLogEvents.Connected && e.Category == "Samsa.Network.orders");
        Assert.Contains(entries, e => e.EventId == SamsaLogEvents.ProducerIdObtained && e.Category == "Samsa.Producer");
        Assert.Contains(entries, e => e.EventId == SamsaLogEvents.ProducerIdObtained && e.Category == "Samsa.Producer.orders");
    }

    private sealed class ListLoggerProvider(ListLoggerFactory factory) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => factory.CreateLogger(categoryName);

        public void Dispose()
        {
        }
    }
}
