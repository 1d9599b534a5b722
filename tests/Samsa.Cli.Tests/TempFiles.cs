namespace Samsa.Cli.Tests;

/// <summary>A temporary folder for the files a test hands to the CLI, deleted with it.</summary>
public sealed class TempFiles : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("samsa-cli-tests").FullName;

    /// <summary>Writes <paramref name="content"/> to the file <paramref name="name"/>; returns its path.</summary>
    public string Write(string name, string content)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, content);
        return path;
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
