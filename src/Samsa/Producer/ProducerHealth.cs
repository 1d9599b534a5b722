namespace Samsa;

/// <summary>
/// A snapshot of a producer's state, from <see cref="IProducer{TKey, TValue}.GetHealth"/>, for
/// health checks and dashboards. Nothing in it is reset by reading it.
/// </summary>
/// <param name="FatalError">
/// Set once the producer has failed for good (<see cref="KafkaException.IsFatal"/>): every record
/// fails with it, and the producer must be disposed and replaced. Null while it can produce.
/// </param>
/// <param name="BufferUsedBytes">Bytes of records accepted but not yet reported, out of <paramref name="BufferLimitBytes"/>.</param>
/// <param name="BufferLimitBytes"><c>buffer.memory</c>: when the used bytes reach it, sends wait up to <c>max.block.ms</c>.</param>
/// <param name="ConnectedBrokers">Broker connections open now (a bootstrap address counts as its own connection).</param>
/// <param name="UnreachableBrokers">
/// Brokers whose latest connection attempt failed and that have not connected since; the producer
/// retries them with <c>reconnect.backoff.ms</c> while it needs them. Bootstrap addresses count only
/// while no connection is open (once one is, the cluster is known from metadata).
/// </param>
/// <param name="LastConnectionError">The most recent of those failures, or null when none is unreachable.</param>
public sealed record ProducerHealth(
    KafkaException? FatalError,
    long BufferUsedBytes,
    long BufferLimitBytes,
    int ConnectedBrokers,
    int UnreachableBrokers,
    Exception? LastConnectionError)
{
    /// <summary>The share of <c>buffer.memory</c> in use, from 0 to 1 (1 when the limit is 0).</summary>
    public double BufferUsedRatio => BufferLimitBytes <= 0 ? 1 : Math.Min(1, (double)BufferUsedBytes / BufferLimitBytes);
}
