using System.Buffers;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Samsa.IntegrationTests.Infrastructure;
using static Samsa.Extensions.Hosting.Tests.HostHelpers;

namespace Samsa.Extensions.Hosting.Tests;

/// <summary>Producers resolved from a real host, producing into a mock cluster, read back with Confluent's consumer.</summary>
public sealed class ProducingTests(ClusterFixture fixture) : IClassFixture<ClusterFixture>
{
    [Fact]
    public async Task TheDefaultProducerProducesThroughDependencyInjection()
    {
        var topic = fixture.CreateTopic("di");
        var builder = Builder(ProducerJson(("bootstrap.servers", fixture.BootstrapServers), ("LingerMs", "1")));
        builder.Services.AddSamsaProducer<string, string>(builder.Configuration.GetSection("Kafka:Producer"));
        using var host = builder.Build();
        await host.StartAsync();

        var producer = host.Services.GetRequiredService<IProducer<string, string>>();
        Assert.Same(producer, host.Services.GetRequiredService<IProducerFactory>().GetProducer<string, string>(""));
        for (var i = 0; i < 10; i++)
        {
            await producer.ProduceAsync(new ProducerRecord<string, string>(topic, $"k{i}", $"v{i}")).AsTask().WaitAsync(Bound);
        }

        await host.StopAsync();
        var read = RecordReader.ReadAll(fixture.BootstrapServers, topic, 10);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"v{i}"), read.Select(r => Encoding.UTF8.GetString(r.Value!)));
    }

    [Fact]
    public async Task NamedProducersHaveTheirOwnSettingsAndTypes()
    {
        var orders = fixture.CreateTopic("named-orders");
        var audit = fixture.CreateTopic("named-audit");
        var json = $$"""
        {
          "Kafka": {
            "Orders": { "bootstrap.servers": "{{fixture.BootstrapServers}}", "client.id": "orders" },
            "Audit": { "BootstrapServers": "{{fixture.BootstrapServers}}", "ClientId": "audit" }
          }
        }
        """;
        var builder = Builder(json);
        builder.Services.AddSamsaProducer<string, string>("orders", builder.Configuration.GetSection("Kafka:Orders"));
        builder.Services.AddSamsaProducer<Null, byte[]>("audit", builder.Configuration.GetSection("Kafka:Audit"));
        using var host = builder.Build();
        await host.StartAsync();

        var factory = host.Services.GetRequiredService<IProducerFactory>();
        var ordersProducer = factory.GetProducer<string, string>("orders");
        var auditProducer = factory.GetProducer<Null, byte[]>("audit");
        Assert.Equal("orders", ordersProducer.Name);
        Assert.Equal("audit", auditProducer.Name);
        Assert.Same(ordersProducer, host.Services.GetRequiredKeyedService<IProducer<string, string>>("orders"));
        Assert.Same(auditProducer, host.Services.GetRequiredKeyedService<IProducer<Null, byte[]>>("audit"));
        Assert.Null(host.Services.GetService<IProducer<string, string>>());
        Assert.Equal(["audit", "orders"], factory.Names.Order(StringComparer.Ordinal));

        var wrongTypes = Assert.Throws<InvalidOperationException>(() => factory.GetProducer<string, byte[]>("orders"));
        Assert.Equal("The Samsa producer 'orders' is an IProducer<String, String>, not an IProducer<String, Byte[]>.", wrongTypes.Message);
        var unknown = Assert.Throws<InvalidOperationException>(() => factory.GetProducer<string, string>("payments"));
        Assert.Equal("No Samsa producer is named 'payments' (registered: 'audit', 'orders'). Register it with AddSamsaProducer.", unknown.Message);

        await ordersProducer.ProduceAsync(new ProducerRecord<string, string>(orders, "o1", "order")).AsTask().WaitAsync(Bound);
        await auditProducer.ProduceAsync(new ProducerRecord<Null, byte[]>(audit, [1, 2, 3])).AsTask().WaitAsync(Bound);
        await host.StopAsync();

        Assert.Equal("order", Encoding.UTF8.GetString(Assert.Single(RecordReader.ReadAll(fixture.BootstrapServers, orders, 1)).Value!));
        Assert.Equal([1, 2, 3], Assert.Single(RecordReader.ReadAll(fixture.BootstrapServers, audit, 1)).Value);
    }

    [Fact]
    public async Task StoppingTheHostFlushesWhatWasProducedJustBefore()
    {
        // linger.ms of a minute: without the flush on stop, nothing would have been sent when StopAsync returns.
        const int count = 50;
        var topic = fixture.CreateTopic("flush-on-stop", 3);
        var builder = Builder(ProducerJson(("bootstrap.servers", fixture.BootstrapServers), ("linger.ms", "60000"), ("batch.size", "1000000")));
        builder.Services.AddSamsaProducer<string, string>(builder.Configuration.GetSection("Kafka:Producer"));
        using var host = builder.Build();
        await host.StartAsync();
        var producer = host.Services.GetRequiredService<IProducer<string, string>>();

        var delivered = 0;
        var failed = new List<Exception>();
        for (var i = 0; i < count; i++)
        {
            producer.Produce(new ProducerRecord<string, string>(topic, $"k{i}", $"v{i}"), report =>
            {
                if (report.IsSuccess)
                {
                    Interlocked.Increment(ref delivered);
                }
                else
                {
                    lock (failed)
                    {
                        failed.Add(report.Error!);
                    }
                }
            });
        }

        await host.StopAsync();

        // StopAsync has returned, and the container has not disposed the producer yet: the flush did it.
        Assert.Empty(failed);
        Assert.Equal(count, Volatile.Read(ref delivered));
        Assert.Equal(count, RecordReader.ReadAll(fixture.BootstrapServers, topic, count).Count);
    }

    [Fact]
    public async Task CodeConfigurationAndTheBuilderAreUsed()
    {
        var topic = fixture.CreateTopic("code");
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddSamsaProducer<string, int>(new ProducerOptions { BootstrapServers = fixture.BootstrapServers.Split(',') })
            .ConfigureBuilder(b => b.SetValueSerializer(new DecimalText()));
        using var host = builder.Build();
        await host.StartAsync();

        await host.Services.GetRequiredService<IProducer<string, int>>().ProduceAsync(new ProducerRecord<string, int>(topic, "k", 42)).AsTask().WaitAsync(Bound);
        await host.StopAsync();

        // The builder's serializer was used: the value is "42" as text, not the built-in big-endian int.
        Assert.Equal("42", Encoding.UTF8.GetString(Assert.Single(RecordReader.ReadAll(fixture.BootstrapServers, topic, 1)).Value!));
    }

    private sealed class DecimalText : Samsa.Serialization.ISerializer<int>
    {
        public void Serialize(int value, IBufferWriter<byte> output, in Samsa.Serialization.SerializationContext context) =>
            output.Write(Encoding.UTF8.GetBytes(value.ToString(System.Globalization.CultureInfo.InvariantCulture)));
    }
}
