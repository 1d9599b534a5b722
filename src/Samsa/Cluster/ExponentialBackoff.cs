namespace Samsa.Cluster;

/// <summary>
/// A wait that doubles with each failed attempt, with ±20% jitter so that many clients do not act
/// in step, and never above its cap: Java's <c>ExponentialBackoff</c>, which its
/// <c>ClusterConnectionStates</c> uses for both the reconnect backoff and the connect timeout (KIP-601).
/// </summary>
internal sealed class ExponentialBackoff
{
    private const double Jitter = 0.2;

    private readonly double _initialMs;
    private readonly double _maxMs;
    private readonly Random? _random;

    /// <param name="initial">The wait after no failure.</param>
    /// <param name="max">The cap; below <paramref name="initial"/> it is raised to it, as Java does.</param>
    /// <param name="random">For deterministic tests; by default <see cref="Random.Shared"/>.</param>
    public ExponentialBackoff(TimeSpan initial, TimeSpan max, Random? random = null)
    {
        _initialMs = Math.Max(0, initial.TotalMilliseconds);
        _maxMs = Math.Max(_initialMs, max.TotalMilliseconds);
        _random = random;
    }

    /// <summary>The wait after <paramref name="failedAttempts"/> failures in a row.</summary>
    public TimeSpan After(int failedAttempts)
    {
        // With no room to grow, Java waits the initial interval as it is, without jitter.
        if (_maxMs <= _initialMs || _initialMs <= 0)
        {
            return TimeSpan.FromMilliseconds(_initialMs);
        }

        // Past the cap the exponent stops growing, so the jitter still spreads the capped waits.
        var exponentCap = Math.Log(_maxMs / _initialMs, 2);
        var exponent = Math.Min(Math.Max(0, failedAttempts), exponentCap);
        var term = _initialMs * Math.Pow(2, exponent);
        var jittered = term * (1 - Jitter + (NextDouble() * 2 * Jitter));
        return TimeSpan.FromMilliseconds(Math.Min(jittered, _maxMs));
    }

    private double NextDouble()
    {
        if (_random is null)
        {
            return Random.Shared.NextDouble();
        }

        // A caller-supplied Random is not thread-safe; backoffs are computed once per failed attempt.
        lock (_random)
        {
            return _random.NextDouble();
        }
    }
}
