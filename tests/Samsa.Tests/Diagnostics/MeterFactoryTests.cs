using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Samsa.Tests.Diagnostics;

/// <summary>A producer built with a meter factory reports on that factory's <c>Samsa</c> meter, not on the static one.</summary>
public sealed class MeterFactoryTests
{
    [Fact]
    public async Task AProducerBuiltWithAMeterFactoryReportsOnThatFactorysMeterOnly()
    {
        using var factory = new TestMeterFactory();
        var clientId = $"meter-factory-{Guid.NewGuid():N}";
        var seen = new ConcurrentQueue<(string Instrument, object? Scope)>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == SamsaTelemetry.MeterName)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((instrument, _, tags, _) =>
        {
            // Other tests' producers report on the static meter meanwhile: only this one's measurements count.
            foreach (var tag in tags)
            {
                if (tag.Key == "messaging.client.id" && Equals(tag.Value, clientId))
                {
                    seen.Enqueue((instrument.Name, instrument.Meter.Scope));
                }
            }
        });
        listener.Start();

        await using var producer = new ProducerBuilder<string, string>(new ProducerOptions
        {
            BootstrapServers = ["127.0.0.1:1"],
            ClientId = clientId,
            MaxRequestSize = 1024,
        }).SetMeterFactory(factory).Build();

        // Refused at the call, so counted without a broker.
        await Assert.ThrowsAsync<RecordTooLargeException>(async () =>
            await producer.ProduceAsync(new ProducerRecord<string, string>("t", "k", new string('x', 4096))));
        listener.RecordObservableInstruments();

        Assert.Contains(("messaging.client.sent.messages", (object?)factory), seen);
        Assert.Contains(("samsa.producer.buffer.available", (object?)factory), seen);
        Assert.All(seen, s => Assert.Same(factory, s.Scope)); // the static meter's gauges do not observe this producer
    }

    [Fact]
    public async Task ProducersGivenOneFactoryShareItsMeterAndItsGaugesObserveThemOnce()
    {
        using var factory = new TestMeterFactory();
        var prefix = $"shared-factory-{Guid.NewGuid():N}";
        var buffers = new ConcurrentQueue<string>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (ReferenceEquals(instrument.Meter.Scope, factory) && instrument.Name == "samsa.producer.buffer.available")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "messaging.client.id")
                {
                    buffers.Enqueue((string)tag.Value!);
                }
            }
        });
        listener.Start();

        await using var first = new ProducerBuilder<string, string>(new ProducerOptions { BootstrapServers = ["127.0.0.1:1"], ClientId = prefix + "-1" })
            .SetMeterFactory(factory).Build();
        await using var second = new ProducerBuilder<string, string>(new ProducerOptions { BootstrapServers = ["127.0.0.1:1"], ClientId = prefix + "-2" })
            .SetMeterFactory(factory).Build();
        listener.RecordObservableInstruments();

        Assert.Single(factory.Meters);
        Assert.Equal([prefix + "-1", prefix + "-2"], buffers.Order(StringComparer.Ordinal));
    }

    /// <summary>As the host's factory: one meter per name and version, scoped to the factory, disposed with it.</summary>
    private sealed class TestMeterFactory : IMeterFactory
    {
        private readonly Dictionary<(string, string?), Meter> _meters = [];

        public IReadOnlyCollection<Meter> Meters => _meters.Values;

        public Meter Create(MeterOptions options)
        {
            lock (_meters)
            {
                var key = (options.Name, options.Version);
                if (!_meters.TryGetValue(key, out var meter))
                {
                    meter = new Meter(new MeterOptions(options.Name) { Version = options.Version, Tags = options.Tags, Scope = this });
                    _meters.Add(key, meter);
                }

                return meter;
            }
        }

        public void Dispose()
        {
            lock (_meters)
            {
                foreach (var meter in _meters.Values)
                {
                    meter.Dispose();
                }
            }
        }
    }
}
