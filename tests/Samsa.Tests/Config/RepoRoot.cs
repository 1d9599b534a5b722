using System.Runtime.CompilerServices;

namespace Samsa.Tests.Config;

/// <summary>Finds the repository root (the directory holding Samsa.slnx) for tests that read shared files.</summary>
internal static class RepoRoot
{
    /// <summary>
    /// Walks up from the test binaries, then (for builds with a custom ArtifactsPath outside the repo)
    /// from this source file and the current directory. Null if none of them is inside the repo.
    /// </summary>
    public static string? Find([CallerFilePath] string sourceFile = "")
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Path.GetDirectoryName(sourceFile), Directory.GetCurrentDirectory() })
        {
            for (var dir = start is null ? null : new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Samsa.slnx")))
                {
                    return dir.FullName;
                }
            }
        }

        return null;
    }

    public static string Require()
    {
        var root = Find();
        Assert.True(root is not null, $"Could not find the repository root (a directory containing Samsa.slnx) above '{AppContext.BaseDirectory}' or the test sources.");
        return root!;
    }
}
