using System.Runtime.CompilerServices;
using System.Text;

namespace Samsa.Tests.Protocol;

/// <summary>
/// Golden bytes for every version of every generated message. The expected hex lives in
/// Golden/&lt;Api&gt;.golden.txt, one line per case: "request v3: 00ff..." (sample with values in every
/// nullable field) and "request v3 nulls: ..." (nullable fields null).
///
/// To regenerate after an intended change, run the tests with SAMSA_UPDATE_GOLDEN=1, e.g.
///   SAMSA_UPDATE_GOLDEN=1 dotnet test tests/Samsa.Tests --filter "FullyQualifiedName~Samsa.Tests.Protocol.GoldenTests"
/// which rewrites the files in the source tree; review the diff before committing. A snapshot can
/// bless a generator bug, so HandDerivedBytesTests checks key messages against bytes worked out by hand.
/// </summary>
public sealed class GoldenTests
{
    private static readonly bool Update = Environment.GetEnvironmentVariable("SAMSA_UPDATE_GOLDEN") == "1";

    public static TheoryData<string, short> AllVersions() => MessageCatalog.AllVersions();

    [Theory]
    [MemberData(nameof(AllVersions))]
    public void EncodingMatchesGoldenBytes(string name, short version)
    {
        if (Update)
        {
            return;
        }

        var entry = MessageCatalog.Get(name);
        var golden = Load(Path.Combine(AppContext.BaseDirectory, "Protocol", "Golden", entry.File + ".golden.txt"));
        foreach (var (key, hex) in Cases(entry, version))
        {
            Assert.True(golden.TryGetValue(key, out var expected), $"{entry.File}.golden.txt has no line '{key}'");
            Assert.Equal(expected, hex);
        }
    }

    [RegenerationFact]
    public void GoldenFilesCanBeRegenerated()
    {
        var dir = Path.Combine(SourceDirectory(), "Golden");
        Directory.CreateDirectory(dir);
        foreach (var group in MessageCatalog.All.GroupBy(e => e.File))
        {
            var text = new StringBuilder();
            text.Append("# Expected encodings; regenerate with SAMSA_UPDATE_GOLDEN=1 (see GoldenTests.cs).\n");
            foreach (var entry in group)
            {
                for (var v = entry.Lowest; v <= entry.Highest; v++)
                {
                    foreach (var (key, hex) in Cases(entry, v))
                    {
                        text.Append(key).Append(": ").Append(hex).Append('\n');
                    }
                }
            }

            File.WriteAllText(Path.Combine(dir, group.Key + ".golden.txt"), text.ToString());
        }
    }

    private static IEnumerable<(string Key, string Hex)> Cases(MessageEntry entry, short version)
    {
        foreach (var nulls in new[] { false, true })
        {
            var sample = Samples.Create(entry, version, nulls);
            var key = $"{entry.Kind} v{version}{(nulls ? " nulls" : "")}";
            yield return (key, Convert.ToHexString(entry.Encode(sample, version)).ToLowerInvariant());
        }
    }

    private static Dictionary<string, string> Load(string path)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in File.ReadAllLines(path))
        {
            if (line.StartsWith('#') || line.Length == 0)
            {
                continue;
            }

            var colon = line.IndexOf(':', StringComparison.Ordinal);
            result[line[..colon]] = line[(colon + 1)..].Trim();
        }

        return result;
    }

    private static string SourceDirectory([CallerFilePath] string path = "") => Path.GetDirectoryName(path)!;
}

/// <summary>The regeneration tool run as a test: it checks nothing, so it runs only when asked (SAMSA_UPDATE_GOLDEN=1), and is reported Skipped otherwise.</summary>
internal sealed class RegenerationFactAttribute : FactAttribute
{
    public RegenerationFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("SAMSA_UPDATE_GOLDEN") != "1")
        {
            Skip = "Regenerates the golden files; runs only with SAMSA_UPDATE_GOLDEN=1.";
        }
    }
}
