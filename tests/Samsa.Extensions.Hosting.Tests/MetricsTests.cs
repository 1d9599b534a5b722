using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using static Samsa.Extensions.Hosting.Tests.HostHelpers;

namespace Samsa.Extensions.Hosting.Tests;

/// <summary>A host's producers report on the <c>Samsa</c> meter of the host's <see cref="IMeterFactory"/>.</summary>
public sealed class MetricsTests(ClusterFixture fixture) : IClassFixture<ClusterFixture>
{
    [Fact]
    public async Task TheProducerReportsOnTheMeterOfTheHostsMeterFactory()
    {
        var topic = fixture.CreateTopic("metrics");
        var clientId = $"metrics-{Guid.NewGuid():N}";
        var builder = Builder(ProducerJson(("bootstrap.servers", fixture.BootstrapServers), ("client.id", clientId), ("linger.ms", "1")));
        builder.Services.AddSamsaProducer<string, string>(builder.Configuration.GetSection("Kafka:Producer"));
        using var host = builder.Build();
        var meterFactory = host.Services.GetRequiredService<IMeterFactory>();

        long fromHostMeter = 0;
        long fromElsewhere = 0;
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == SamsaTelemetry.MeterName && instrument.Name == "messaging.client.sent.messages")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "messaging.client.id" && Equals(tag.Value, clientId))
                {
                    Interlocked.Add(ref ReferenceEquals(instrument.Meter.Scope, meterFactory) ? ref fromHostMeter : ref fromElsewhere, value);
                }
            }
        });
        listener.Start();

        await host.StartAsync();
        var producer = host.Services.GetRequiredService<IProducer<string, string>>();
        for (var i = 0; i < 5; i++)
        {
            await producer.ProduceAsync(new ProducerRecord<string, string>(topic, $"k{i}", $"v{i}")).AsTask().WaitAsync(Bound);
        }

        await host.StopAsync();

        Assert.Equal(5, Interlocked.Read(ref fromHostMeter));
        Assert.Equal(0, Interlocked.Read(ref fromElsewhere));
    }
}
