using System.Diagnostics;
using System.Globalization;

namespace Samsa.Cli;

/// <summary>
/// The embedded cluster as <c>samsa cluster</c> in a child process of this executable, so that the CPU time and
/// allocations <c>samsa perf</c> measures in its own process are the producer's, not the mock brokers'. The child
/// stops when its stdin closes, so it never outlives this process, even one that is killed.
/// </summary>
internal sealed class ClusterChildProcess : IDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    private readonly Process _process;

    private ClusterChildProcess(Process process, string bootstrapServers)
    {
        _process = process;
        BootstrapServers = bootstrapServers;
    }

    public string BootstrapServers { get; }

    /// <summary>
    /// How to run this executable again: the program itself (an app host or a Native AOT binary), or the
    /// <c>dotnet</c> host with the entry assembly when started as <c>dotnet samsa.dll</c>. Null when unknown.
    /// </summary>
    public static (string FileName, string? EntryAssembly)? SelfCommand()
    {
        var processPath = Environment.ProcessPath;
        if (processPath is null)
        {
            return null;
        }

        if (!string.Equals(Path.GetFileNameWithoutExtension(processPath), "dotnet", StringComparison.OrdinalIgnoreCase))
        {
            return (processPath, null);
        }

        var entry = Environment.GetCommandLineArgs().FirstOrDefault();
        return entry is not null && entry.EndsWith(".dll", StringComparison.OrdinalIgnoreCase) && File.Exists(entry)
            ? (processPath, entry)
            : null;
    }

    /// <summary>Starts the child and waits for its BOOTSTRAP line.</summary>
    /// <exception cref="InvalidOperationException">The child did not start or did not report its brokers; the message holds its stderr.</exception>
    public static ClusterChildProcess Start((string FileName, string? EntryAssembly) self, int brokers, string topic, int partitions)
    {
        var psi = new ProcessStartInfo(self.FileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (self.EntryAssembly is not null)
        {
            psi.ArgumentList.Add(self.EntryAssembly);
        }

        foreach (var arg in new[] { "cluster", "--until-stdin-closes", "--brokers", brokers.ToString(CultureInfo.InvariantCulture), "--topic", $"{topic}:{partitions}" })
        {
            psi.ArgumentList.Add(arg);
        }

        var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start '{self.FileName} cluster'.");
        var stderr = new System.Text.StringBuilder();
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (stderr)
                {
                    stderr.AppendLine(e.Data);
                }
            }
        };
        process.BeginErrorReadLine();

        var firstLine = process.StandardOutput.ReadLineAsync();
        if (!firstLine.Wait(StartTimeout) || firstLine.Result is not { } line || !line.StartsWith("BOOTSTRAP ", StringComparison.Ordinal))
        {
            Stop(process);
            string said;
            lock (stderr)
            {
                said = stderr.ToString().Trim();
            }

            throw new InvalidOperationException(
                $"the embedded cluster ('{self.FileName} cluster') did not report its brokers within {StartTimeout.TotalSeconds:0} s" +
                (said.Length > 0 ? $": {said}" : "."));
        }

        // Keep draining stdout so that the child never blocks on a full pipe.
        _ = process.StandardOutput.ReadToEndAsync();
        return new ClusterChildProcess(process, line["BOOTSTRAP ".Length..].Trim());
    }

    public void Dispose()
    {
        Stop(_process);
        _process.Dispose();
    }

    private static void Stop(Process process)
    {
        try
        {
            // Closing stdin asks the child to stop; a child that does not is killed.
            process.StandardInput.Close();
            if (!process.WaitForExit(5000))
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(5000);
            }
        }
        catch (Exception e) when (e is InvalidOperationException or IOException)
        {
            // Already gone.
        }
    }
}
