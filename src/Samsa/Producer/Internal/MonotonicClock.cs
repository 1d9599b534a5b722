using System.Diagnostics;

namespace Samsa.Producer.Internal;

/// <summary>
/// Milliseconds from a monotonic clock. <see cref="Environment.TickCount64"/> can be as coarse
/// as the kernel tick (4 ms on many Linux systems), too coarse for a 5 ms <c>linger.ms</c>.
/// </summary>
internal static class MonotonicClock
{
    private static readonly double MillisecondsPerTick = 1000.0 / Stopwatch.Frequency;

    public static long NowMs => (long)(Stopwatch.GetTimestamp() * MillisecondsPerTick);
}
