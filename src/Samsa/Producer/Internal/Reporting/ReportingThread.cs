namespace Samsa.Producer.Internal;

/// <summary>
/// Tells whether the current thread is running the producer's reporting loop (a delivery handler
/// or an awaiting caller's synchronous continuation). Code there must not wait for anything that
/// only the reporting loop can finish (buffer space, a flush, dispose), or it waits for itself.
/// </summary>
internal static class ReportingThread
{
    [ThreadStatic]
    private static int t_depth;

    public static bool IsCurrent => t_depth > 0;

    public static void Enter() => t_depth++;

    public static void Exit() => t_depth--;
}
