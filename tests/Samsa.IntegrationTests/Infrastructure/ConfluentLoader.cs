namespace Samsa.IntegrationTests.Infrastructure;

using System.Reflection;
using System.Runtime.InteropServices;
using Confluent.Kafka;
using Samsa.Testing;

/// <summary>
/// Makes Confluent.Kafka load exactly the librdkafka file the test kit loads
/// (<see cref="MockCluster.LibraryPath"/>, on Debian 12 the package's <c>centos8-librdkafka.so</c>),
/// and proves it did: a silent fallback to a system librdkafka (e.g. 2.0.2) would make the
/// independent reader and the performance baseline wrong. Call <see cref="EnsureLoaded"/> before
/// creating any Confluent client.
/// </summary>
public static class ConfluentLoader
{
    /// <summary>The librdkafka.redist version pinned in Directory.Packages.props.</summary>
    public const string ExpectedVersion = "2.16.0";

    private static readonly Lazy<string> Loaded = new(Load, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Loads librdkafka into Confluent.Kafka once; returns its version string.</summary>
    /// <exception cref="InvalidOperationException">Another librdkafka version got loaded.</exception>
    public static string EnsureLoaded() => Loaded.Value;

    private static string Load()
    {
        var path = MockCluster.LibraryPath;
        NativeLibrary.SetDllImportResolver(typeof(Library).Assembly, (name, _, _) => Resolve(name, path));

        try
        {
            Library.Load(path);
        }
        catch (InvalidOperationException)
        {
            // Already loaded by someone else: the version check below still decides.
        }

        var version = Library.VersionString;
        if (version != ExpectedVersion || MockCluster.NativeVersion != ExpectedVersion)
        {
            throw new InvalidOperationException(
                $"Confluent.Kafka loaded librdkafka {version} and the test kit {MockCluster.NativeVersion}, " +
                $"expected {ExpectedVersion} from {path} (librdkafka.redist, as Directory.Packages.props pins it). Restore the packages and check that no other librdkafka is loaded first.");
        }

        return version;
    }

    private static IntPtr Resolve(string name, string path) => name switch
    {
        "librdkafka" or "centos8-librdkafka" or "alpine-librdkafka" => NativeLibrary.Load(path),
        // glibc 2.34+ ships no bare libdl.so; Confluent dlopen()s the user-specified path through it.
        "libdl" => NativeLibrary.TryLoad("libdl.so.2", out var h) ? h : IntPtr.Zero,
        _ => IntPtr.Zero,
    };
}
