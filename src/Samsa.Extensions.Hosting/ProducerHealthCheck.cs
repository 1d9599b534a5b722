using System.Globalization;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Samsa.Extensions.Hosting;

/// <summary>
/// Reports a producer's <see cref="ProducerHealth"/>: unhealthy (or the registration's failure status)
/// once it is fatal, degraded while a broker is unreachable or the buffer is nearly full, healthy otherwise.
/// </summary>
internal sealed class ProducerHealthCheck(ProducerFactory factory, string name, double bufferNearlyFull) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var failureStatus = context.Registration?.FailureStatus ?? HealthStatus.Unhealthy;
        return Task.FromResult(Evaluate(factory.GetHealth(name), bufferNearlyFull, failureStatus));
    }

    /// <summary>The mapping from a producer's state to a health result.</summary>
    internal static HealthCheckResult Evaluate(ProducerHealth health, double bufferNearlyFull, HealthStatus failureStatus)
    {
        var data = new Dictionary<string, object>
        {
            ["buffer_used_bytes"] = health.BufferUsedBytes,
            ["buffer_limit_bytes"] = health.BufferLimitBytes,
            ["connected_brokers"] = health.ConnectedBrokers,
            ["unreachable_brokers"] = health.UnreachableBrokers,
        };

        if (health.FatalError is { } fatal)
        {
            return new HealthCheckResult(failureStatus, $"The producer has failed for good and must be replaced: {fatal.Message}", fatal, data);
        }

        var problems = new List<string>();
        if (health.UnreachableBrokers > 0)
        {
            problems.Add(string.Create(
                CultureInfo.InvariantCulture,
                $"{health.UnreachableBrokers} broker(s) unreachable ({health.ConnectedBrokers} connected): {health.LastConnectionError?.Message}"));
        }

        if (health.BufferUsedRatio >= bufferNearlyFull)
        {
            problems.Add(string.Create(
                CultureInfo.InvariantCulture,
                $"buffer.memory is {health.BufferUsedRatio:P0} full ({health.BufferUsedBytes} of {health.BufferLimitBytes} bytes); sends will soon wait up to max.block.ms"));
        }

        return problems.Count == 0
            ? HealthCheckResult.Healthy(string.Create(CultureInfo.InvariantCulture, $"{health.ConnectedBrokers} broker connection(s) open"), data)
            : HealthCheckResult.Degraded(string.Join("; ", problems) + ".", health.LastConnectionError, data);
    }
}
