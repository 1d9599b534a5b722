using System.Runtime.CompilerServices;
using Samsa.ProtocolGen;
using Samsa.Tests.Config;

namespace Samsa.Tests.Protocol;

/// <summary>The committed generated files equal a fresh run of tools/Samsa.ProtocolGen.
/// Skipped, with the reason, when the definitions at &lt;repo&gt;/../shared are absent.</summary>
public sealed class GeneratorCheckTests
{
    [SharedDataFact]
    public void CommittedGeneratedFilesAreUpToDate()
    {
        var repo = Path.GetFullPath(Path.Combine(SourceDirectory(), "..", "..", ".."));
        var messages = Path.Combine(SharedDataFactAttribute.Folder!, "messages");

        var generated = Path.Combine(repo, "src", "Samsa", "Protocol", "Generated");
        foreach (var (name, text) in Generator.Generate(messages))
        {
            var path = Path.Combine(generated, name);
            Assert.True(File.Exists(path), $"{name} is missing; run tools/Samsa.ProtocolGen.");
            Assert.True(text == File.ReadAllText(path), $"{name} is stale; run tools/Samsa.ProtocolGen.");
        }
    }

    private static string SourceDirectory([CallerFilePath] string path = "") => Path.GetDirectoryName(path)!;
}
