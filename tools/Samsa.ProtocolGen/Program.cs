using Samsa.ProtocolGen;

// Usage: dotnet run --project tools/Samsa.ProtocolGen -- [messagesDir] [outputDir]
// Defaults are relative to the repository root (the folder holding Samsa.slnx).
var root = FindRepositoryRoot(Directory.GetCurrentDirectory()) ?? FindRepositoryRoot(AppContext.BaseDirectory);
string Resolve(int index, string fallback)
{
    if (args.Length > index)
    {
        return Path.GetFullPath(args[index]);
    }

    if (root is null)
    {
        throw new InvalidOperationException("Run inside the repository or pass <messagesDir> <outputDir>.");
    }

    return Path.GetFullPath(Path.Combine(root, fallback));
}

try
{
    var messagesDir = Resolve(0, "../shared/kafka-protocol/messages");
    var outputDir = Resolve(1, "src/Samsa/Protocol/Generated");
    var files = Generator.Generate(messagesDir);
    Directory.CreateDirectory(outputDir);
    foreach (var (name, text) in files)
    {
        File.WriteAllText(Path.Combine(outputDir, name), text);
    }

    Console.WriteLine($"Wrote {files.Count} files to {outputDir}.");
    return 0;
}
catch (Exception e) when (e is IOException or InvalidDataException or NotSupportedException or InvalidOperationException or System.Text.Json.JsonException)
{
    Console.Error.WriteLine($"Samsa.ProtocolGen: {e.Message}");
    return 1;
}

static string? FindRepositoryRoot(string start)
{
    for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
    {
        if (File.Exists(Path.Combine(dir.FullName, "Samsa.slnx")))
        {
            return dir.FullName;
        }
    }

    return null;
}
