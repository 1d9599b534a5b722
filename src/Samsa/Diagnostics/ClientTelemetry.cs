using Samsa.Compression;
using Samsa.Network;
using Samsa.Producer.Internal;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Diagnostics;

/// <summary>
/// KIP-714 client telemetry (<c>enable.metrics.push</c>): asks a broker which metrics it wants
/// (GetTelemetrySubscriptions), and while it wants any, pushes them (PushTelemetry, OTLP protobuf) at the interval it
/// gave, with a last, terminating push at close. Nothing is gathered until a broker subscribes: then
/// <see cref="ProducerTelemetry"/> starts feeding a <see cref="PushMetrics"/> from the same events as the meter.
/// </summary>
/// <remarks>
/// One loop per producer, started by the first metadata answer (so a producer that never produces opens no connection
/// for it). A broker without the APIs ends it. Errors follow the KIP: UNKNOWN_SUBSCRIPTION_ID and
/// UNSUPPORTED_COMPRESSION_TYPE fetch the subscription again at once; TELEMETRY_TOO_LARGE and THROTTLING_QUOTA_EXCEEDED
/// skip to the next interval; INVALID_RECORD and other errors turn pushing off for the producer's life.
/// </remarks>
internal sealed class ClientTelemetry(ProducerEngine engine) : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();

    // A push in flight is not cancelled by the stop, only by the close's bound: its metrics were collected (a delta
    // sum counts from the push before), so cancelling it before it is sent would lose them from every push.
    private readonly CancellationTokenSource _abandon = new();
    private Task _loop = Task.CompletedTask;
    private int _started;
    private Subscription? _subscription;
    private int? _loggedId;

    /// <summary>The client instance id the broker gave (KIP-714), or <see cref="Guid.Empty"/> before the first answer.</summary>
    public Guid ClientInstanceId { get; private set; }

    /// <summary>Starts the loop, the first time only.</summary>
    public void EnsureStarted()
    {
        if (Interlocked.Exchange(ref _started, 1) == 0)
        {
            _loop = Task.Run(() => RunQuietlyAsync(_stop.Token));
        }
    }

    /// <summary>
    /// Stops the loop, letting a push in flight end, and, if a broker subscribed, pushes once more with
    /// <c>Terminating</c> set; both bounded by <paramref name="timeout"/>.
    /// </summary>
    public async Task TerminateAsync(TimeSpan timeout)
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _abandon.CancelAfter(timeout);
        await _loop.ConfigureAwait(false);
        if (Volatile.Read(ref _subscription) is { } subscription && engine.Telemetry.Push is { } push && !_abandon.IsCancellationRequested)
        {
            try
            {
                await PushAsync(subscription, push, terminating: true, _abandon.Token).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // Best effort: the producer is closing either way, and telemetry never fails a close.
            }
        }

        engine.Telemetry.Push = null;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _abandon.CancelAsync().ConfigureAwait(false);
        _stop.Dispose();
        _abandon.Dispose();
    }

    // Telemetry never fails the producer: whatever ends the loop (a close, a broker that refuses, a fault) ends pushing only.
    private async Task RunQuietlyAsync(CancellationToken token)
    {
        try
        {
            await RunAsync(token).ConfigureAwait(false);
        }
        catch (Exception) when (token.IsCancellationRequested)
        {
            // Closing: TerminateAsync makes the last push with what was gathered.
        }
        catch (Exception)
        {
            engine.Telemetry.Push = null;
            Volatile.Write(ref _subscription, null);
        }
    }

    private async Task RunAsync(CancellationToken token)
    {
        var failedAttempts = 0;
        while (!token.IsCancellationRequested)
        {
            Subscription? subscription;
            try
            {
                subscription = await FetchSubscriptionAsync(token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is KafkaException { IsRetriable: true } or KafkaNetworkException or KafkaTimeoutException && !token.IsCancellationRequested)
            {
                await Task.Delay(engine.RetryBackoff(++failedAttempts), token).ConfigureAwait(false);
                continue;
            }

            if (subscription is null)
            {
                return; // the brokers do not support KIP-714, or refused it for good
            }

            failedAttempts = 0;
            Volatile.Write(ref _subscription, subscription);
            if (subscription.RequestedMetrics.Count == 0)
            {
                // Nothing wanted: gather nothing, and ask again after the interval (the operator may subscribe later).
                engine.Telemetry.Push = null;
                await Task.Delay(subscription.PushInterval, token).ConfigureAwait(false);
                continue;
            }

            if (subscription.Id != _loggedId)
            {
                TelemetryLog.Subscribed(engine.Loggers.Producer, subscription.RequestedMetrics.Count, subscription.Id, (long)subscription.PushInterval.TotalMilliseconds);
                _loggedId = subscription.Id;
            }

            var totals = engine.Telemetry.RecordTotals!; // counted whenever metrics push is on, as this loop is
            var push = engine.Telemetry.Push ??= new PushMetrics(totals, () => engine.Connections.ConnectionsCreated, () => (engine.Memory.Used, engine.Memory.Limit));

            // The first push comes after a random part of the interval, so clients started together do not push together.
            var wait = TimeSpan.FromMilliseconds(subscription.PushInterval.TotalMilliseconds * (0.5 + (Random.Shared.NextDouble() * 0.5)));
            while (true)
            {
                await Task.Delay(wait, token).ConfigureAwait(false);
                ErrorCode error;
                try
                {
                    error = await PushAsync(subscription, push, terminating: false, _abandon.Token).ConfigureAwait(false);
                }
                catch (Exception e) when (e is KafkaException { IsRetriable: true } or KafkaNetworkException or KafkaTimeoutException && !token.IsCancellationRequested)
                {
                    wait = subscription.PushInterval;
                    continue;
                }

                if (error is ErrorCode.None or ErrorCode.TelemetryTooLarge or ErrorCode.ThrottlingQuotaExceeded)
                {
                    wait = subscription.PushInterval;
                    continue;
                }

                if (error is ErrorCode.UnknownSubscriptionId or ErrorCode.UnsupportedCompressionType)
                {
                    break; // the subscription changed: fetch it again at once
                }

                // INVALID_RECORD, INVALID_REQUEST, an unsupported version...: the broker will not take our pushes.
                TelemetryLog.Stopped(engine.Loggers.Producer, ErrorCodes.Name(error));
                engine.Telemetry.Push = null;
                Volatile.Write(ref _subscription, null);
                return;
            }
        }
    }

    private async Task<Subscription?> FetchSubscriptionAsync(CancellationToken token)
    {
        var connection = await engine.Metadata.AnyConnectionAsync().WaitAsync(token).ConfigureAwait(false);
        var version = connection.Versions.Pick(ApiKey.GetTelemetrySubscriptions, 0, GetTelemetrySubscriptionsRequest.HighestSupportedVersion);
        if (version < 0)
        {
            return null;
        }

        var response = await connection.SendAsync(new GetTelemetrySubscriptionsRequest { ClientInstanceId = ClientInstanceId }, version, token).ConfigureAwait(false);
        var error = (ErrorCode)response.ErrorCode;
        if (error != ErrorCode.None)
        {
            if (ErrorCodes.IsRetriable(error))
            {
                throw new KafkaException($"GetTelemetrySubscriptions failed with {ErrorCodes.Name(error)}.", error, isRetriable: true);
            }

            return null;
        }

        if (ClientInstanceId == Guid.Empty)
        {
            ClientInstanceId = response.ClientInstanceId;
        }

        var compression = CompressionType.None;
        foreach (var accepted in response.AcceptedCompressionTypes)
        {
            // The broker's order is its preference; every codec Kafka names is one Samsa writes.
            if (accepted is >= 1 and <= 4)
            {
                compression = (CompressionType)accepted;
                break;
            }
        }

        return new Subscription(
            response.SubscriptionId,
            response.RequestedMetrics,
            TimeSpan.FromMilliseconds(Math.Max(100, response.PushIntervalMs)),
            response.TelemetryMaxBytes,
            response.DeltaTemporality,
            compression);
    }

    private async Task<ErrorCode> PushAsync(Subscription subscription, PushMetrics push, bool terminating, CancellationToken token)
    {
        var payload = OtlpMetricsWriter.Write(
            [],
            SamsaTelemetry.MeterName,
            ProducerInstruments.Version,
            push.Collect(subscription.RequestedMetrics, subscription.Delta),
            subscription.Delta);
        var compression = subscription.Compression;
        if (compression != CompressionType.None)
        {
            var compressed = new PooledBufferWriter(payload.Length);
            try
            {
                Compressor.Compress(compression, Compressor.DefaultLevel, payload, compressed);
                payload = compressed.WrittenSpan.ToArray();
            }
            finally
            {
                compressed.Dispose();
            }
        }

        if (subscription.MaxBytes > 0 && payload.Length > subscription.MaxBytes)
        {
            return ErrorCode.TelemetryTooLarge; // not sent: the broker would refuse it
        }

        var connection = await engine.Metadata.AnyConnectionAsync().WaitAsync(token).ConfigureAwait(false);
        var version = connection.Versions.Pick(ApiKey.PushTelemetry, 0, PushTelemetryRequest.HighestSupportedVersion);
        if (version < 0)
        {
            return ErrorCode.UnsupportedVersion;
        }

        var response = await connection.SendAsync(
            new PushTelemetryRequest
            {
                ClientInstanceId = ClientInstanceId,
                SubscriptionId = subscription.Id,
                Terminating = terminating,
                CompressionType = (sbyte)compression,
                Metrics = payload,
            },
            version,
            token).ConfigureAwait(false);
        return (ErrorCode)response.ErrorCode;
    }

    private sealed record Subscription(int Id, List<string> RequestedMetrics, TimeSpan PushInterval, int MaxBytes, bool Delta, CompressionType Compression);
}
