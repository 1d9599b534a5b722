using Microsoft.Extensions.Logging;

namespace Samsa.Diagnostics;

/// <summary>Metadata refreshes (1400-1499, category <c>Samsa.Metadata</c>).</summary>
internal static partial class MetadataLog
{
    [LoggerMessage(EventId = SamsaLogEvents.MetadataRefreshFailed, Level = LogLevel.Warning,
        Message = "Refreshing the cluster metadata failed ({Failures} failure(s) in a row); it is tried again: {Reason}")]
    public static partial void RefreshFailed(ILogger logger, int failures, string reason);

    [LoggerMessage(EventId = SamsaLogEvents.MetadataRecovered, Level = LogLevel.Information, Message = "Cluster metadata refreshed again after {Failures} failed attempt(s)")]
    public static partial void Recovered(ILogger logger, int failures);
}
