using System.Reflection;
using System.Runtime.InteropServices;

namespace Samsa.Testing.Native;

/// <summary>
/// Decides which librdkafka file the test kit (and, through <see cref="MockCluster.LibraryPath"/>,
/// Confluent.Kafka) loads.
/// </summary>
/// <remarks>
/// librdkafka.redist's default <c>runtimes/linux-x64/native/librdkafka.so</c> links against
/// <c>libsasl2.so.3</c>, which Debian 12 lacks; .NET would then silently pick up a system
/// librdkafka (an old 2.0.2) or fail. On linux-x64 with glibc we therefore load the package's
/// self-contained <c>centos8-librdkafka.so</c> by full path, and fail loudly if it is missing.
/// Elsewhere the package's file for the current RID is used if present, else default probing.
/// </remarks>
internal static class NativeLibraryResolver
{
    private static readonly Lock Gate = new();
    private static bool s_registered;
    private static IntPtr s_handle;

    /// <summary>True on linux-x64 glibc, where only the bundled centos8 build is acceptable.</summary>
    internal static bool RequiresBundledBuild { get; } =
        OperatingSystem.IsLinux() && RuntimeInformation.ProcessArchitecture == Architecture.X64 && !IsMusl();

    /// <summary>The file to load, or <see langword="null"/> when none was found.</summary>
    internal static string? LibraryPath { get; } = FindLibraryPath();

    /// <summary>The path to load; on linux-x64 glibc throws rather than fall back.</summary>
    internal static string RequireLibraryPath()
    {
        if (LibraryPath is not null)
        {
            return LibraryPath;
        }

        if (RequiresBundledBuild)
        {
            throw new DllNotFoundException(
                "centos8-librdkafka.so (from the librdkafka.redist package) was not found in " +
                Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native") + " nor in " + AppContext.BaseDirectory +
                "; refusing to fall back to another librdkafka (the package's default build needs libsasl2.so.3, and a system one may be too old).");
        }

        return LibRdKafka.LibraryName; // let the OS loader find it
    }

    internal static void EnsureRegistered()
    {
        lock (Gate)
        {
            if (s_registered)
            {
                return;
            }

            NativeLibrary.SetDllImportResolver(typeof(NativeLibraryResolver).Assembly, Resolve);
            s_registered = true;
        }
    }

    private static IntPtr Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (libraryName != LibRdKafka.LibraryName || (LibraryPath is null && !RequiresBundledBuild))
        {
            return IntPtr.Zero; // default resolution
        }

        var path = RequireLibraryPath();
        lock (Gate)
        {
            if (s_handle == IntPtr.Zero)
            {
                s_handle = NativeLibrary.Load(path);
            }

            return s_handle;
        }
    }

    private static string? FindLibraryPath()
    {
        // Builds and RID-less publishes (a dotnet tool too) carry the library in runtimes/<rid>/native under the
        // app's base directory; a RID-specific publish (e.g. Native AOT) flattens the RID's native files into
        // the base directory itself. (Assembly.Location would add nothing, and is empty under Native AOT.)
        var dir = AppContext.BaseDirectory;

        string rid, file;
        if (RequiresBundledBuild)
        {
            (rid, file) = ("linux-x64", "centos8-librdkafka.so");
        }
        else
        {
            rid = RuntimeInformation.RuntimeIdentifier;
            file = OperatingSystem.IsWindows() ? "librdkafka.dll"
                : OperatingSystem.IsMacOS() ? "librdkafka.dylib"
                : "librdkafka.so";
        }

        return new[] { Path.Combine(dir, "runtimes", rid, "native", file), Path.Combine(dir, file) }
            .Select(Path.GetFullPath)
            .FirstOrDefault(File.Exists);
    }

    private static bool IsMusl() =>
        RuntimeInformation.RuntimeIdentifier.Contains("musl", StringComparison.OrdinalIgnoreCase)
        || File.Exists("/lib/ld-musl-x86_64.so.1");
}
