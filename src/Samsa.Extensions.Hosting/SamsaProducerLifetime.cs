using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Samsa.Extensions.Hosting;

/// <summary>
/// Ties the registered producers to the host: creates them when the host starts (so a bad
/// configuration or a missing serializer fails the start, with <c>Build()</c>'s message), and
/// flushes them once every other hosted service has stopped (<see cref="IHostedLifecycleService.StoppedAsync"/>,
/// so records that a worker produced while stopping are included), bounded by the token the host
/// gives, which ends at <c>HostOptions.ShutdownTimeout</c>. The container then disposes them. A producer
/// whose flush did not finish in time has no time left: it is closed right away with a zero timeout, which fails
/// its records still unsent with <see cref="ProducerClosedException"/> instead of giving them
/// <see cref="SamsaProducerOptions.CloseTimeout"/> more. The wait for that close is bounded too
/// (<see cref="CreatedProducer.CloseGrace"/>), against a delivery handler that blocks.
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
            // The host's shutdown timeout passed, and with it the time the producer had: what is left fails now, in the
            // stop, rather than getting CloseTimeout more when the container is disposed.
            LogFlushTimedOut(ProducerFactory.Show(name));
            if (!await producer.CloseBoundedAsync(TimeSpan.Zero).ConfigureAwait(false))
            {
                LogDisposeTimedOut(ProducerFactory.Show(name), CreatedProducer.CloseGrace.TotalSeconds);
            }
        }
    }

    [LoggerMessage(EventId = SamsaLogEvents.HostingDisposeTimedOut, Level = LogLevel.Error,
        Message = "The Samsa producer {Name} did not finish closing within {Seconds} s after the host's shutdown timeout, probably held by a delivery handler that blocks; the host stops without waiting for it")]
    private partial void LogDisposeTimedOut(string name, double seconds);

    [LoggerMessage(EventId = SamsaLogEvents.HostingFlushTimedOut, Level = LogLevel.Warning,
        Message = "The Samsa producer {Name} was not flushed within the host's shutdown timeout; it is closed now, and its records still unsent fail")]
    private partial void LogFlushTimedOut(string name);
}
