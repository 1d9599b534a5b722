using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Samsa.Extensions.Hosting;

/// <summary>
/// Ties the registered producers to the host: creates them when the host starts (so a bad
/// configuration or a missing serializer fails the start, with <c>Build()</c>'s message), and
/// flushes them once every other hosted service has stopped (<see cref="IHostedLifecycleService.StoppedAsync"/>,
/// so records that a worker produced while stopping are included), bounded by the token the host
/// gives, which ends at <c>HostOptions.ShutdownTimeout</c>. The container then disposes them. A producer
/// whose flush did not finish in time is disposed right away instead: its records still unsent get
/// <see cref="SamsaProducerOptions.CloseTimeout"/> more, then fail, and the wait for that dispose is bounded
/// too (<see cref="CreatedProducer.DisposeBoundedAsync"/>), so the host stops within ShutdownTimeout plus
/// CloseTimeout and a few seconds, whatever the producer's delivery handlers do.
/// </summary>
internal sealed partial class SamsaProducerLifetime(ProducerFactory factory, ILogger<SamsaProducerLifetime> logger) : IHostedLifecycleService
{
    public Task StartingAsync(CancellationToken cancellationToken)
    {
        factory.CreateAll();
        return Task.CompletedTask;
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StoppedAsync(CancellationToken cancellationToken)
    {
        var flushes = factory.Created().Select(p => FlushAsync(p.Name, p.Producer, cancellationToken)).ToList();
        await Task.WhenAll(flushes).ConfigureAwait(false);
    }

    private async Task FlushAsync(string name, CreatedProducer producer, CancellationToken cancellationToken)
    {
        try
        {
            await producer.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The host's shutdown timeout passed: disposing gives the rest CloseTimeout more, then fails it. It
            // starts now rather than whenever the container is disposed, and is waited for only so long.
            LogFlushTimedOut(ProducerFactory.Show(name));
            if (!await producer.DisposeBoundedAsync().ConfigureAwait(false))
            {
                LogDisposeTimedOut(ProducerFactory.Show(name), (producer.CloseTimeout + CreatedProducer.DisposeGrace).TotalSeconds);
            }
        }
    }

    [LoggerMessage(EventId = SamsaLogEvents.HostingDisposeTimedOut, Level = LogLevel.Error,
        Message = "The Samsa producer {Name} was not disposed within {Seconds} s (its CloseTimeout and a grace period), probably held by a delivery handler that blocks; the host stops without waiting for it")]
    private partial void LogDisposeTimedOut(string name, double seconds);

    [LoggerMessage(EventId = SamsaLogEvents.HostingFlushTimedOut, Level = LogLevel.Warning,
        Message = "The Samsa producer {Name} was not flushed within the host's shutdown timeout; records still unsent get SamsaProducerOptions.CloseTimeout more while it is disposed, then fail")]
    private partial void LogFlushTimedOut(string name);
}
