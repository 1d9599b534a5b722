namespace Samsa;

/// <summary>
/// The names under which Samsa publishes its metrics and traces, for wiring an OpenTelemetry SDK:
/// <c>AddMeter(SamsaTelemetry.MeterName)</c> and <c>AddSource(SamsaTelemetry.ActivitySourceName)</c>.
/// </summary>
/// <remarks>
/// Every producer in a process starts its spans on the same <see cref="System.Diagnostics.ActivitySource"/>, and
/// reports its metrics on a <see cref="System.Diagnostics.Metrics.Meter"/> of this name: a static one shared by
/// every producer, or the one of the <see cref="System.Diagnostics.Metrics.IMeterFactory"/> it was built with
/// (<see cref="ProducerBuilder{TKey, TValue}.SetMeterFactory"/>). The <c>messaging.client.id</c> attribute
/// (the producer's <see cref="ProducerOptions.ClientId"/>, or the name Samsa gave it) tells producers apart.
/// With no listener attached, neither costs the produce path more than a flag check.
/// </remarks>
public static class SamsaTelemetry
{
    /// <summary>The name of the <see cref="System.Diagnostics.Metrics.Meter"/> every producer reports to, static or from a meter factory: <c>Samsa</c>.</summary>
    public const string MeterName = "Samsa";

    /// <summary>The name of the <see cref="System.Diagnostics.ActivitySource"/> whose "send" spans Samsa starts: <c>Samsa</c>.</summary>
    public const string ActivitySourceName = "Samsa";
}
