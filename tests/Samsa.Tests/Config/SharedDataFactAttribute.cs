namespace Samsa.Tests.Config;

/// <summary>
/// A test of the facts in <c>../shared/kafka-protocol</c> (Apache Kafka's definitions beside the repository, as CI has
/// them). Without that folder, e.g. on a fresh clone alone, the test is reported Skipped with the reason, never a
/// pass that checked nothing.
/// </summary>
public sealed class SharedDataFactAttribute : FactAttribute
{
    public SharedDataFactAttribute()
    {
        if (Folder is null)
        {
            Skip = "../shared/kafka-protocol is not beside the repository (CI provides it; a fresh clone alone does not).";
        }
    }

    /// <summary>The repository's <c>../shared/kafka-protocol</c>, or null when it is absent.</summary>
    public static string? Folder =>
        RepoRoot.Find() is { } root && Path.GetFullPath(Path.Combine(root, "..", "shared", "kafka-protocol")) is var folder && Directory.Exists(folder)
            ? folder
            : null;
}
