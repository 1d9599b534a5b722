using System.Diagnostics;
using System.Reflection;

namespace Samsa.Compare;

/// <summary>
/// <c>samsa cluster</c> (librdkafka's mock, 3 brokers, each adding <c>--rtt</c>) in its own process, so that the
/// producer's CPU time and allocations measured in this process are the producer's alone. Killed on Dispose,
/// Ctrl+C and exit.
/// </summary>
internal sealed class ClusterProcess : IDisposable
{
    private readonly Process _process;
    private int _killed;

    private ClusterProcess(Process process, string bootstrap)
    {
        _process = process;
        BootstrapServers = bootstrap;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Dispose();
        Console.CancelKeyPress += (_, _) => Dispose();
    }

    public string BootstrapServers { get; }

    public static string DefaultCliPath() =>
        typeof(ClusterProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "SamsaCliDll")?.Value ?? "";

    public static ClusterProcess Start(string cliDll, IEnumerable<string> topics, int rttMs)
    {
        if (!File.Exists(cliDll))
        {
            throw new FileNotFoundException($"Samsa.Cli.dll not found at '{cliDll}'. Build with -c Release (the project references Samsa.Cli) or pass --cli PATH.");
        }

        var psi = new ProcessStartInfo("dotnet")
        {
            // Its stdin takes fault commands; keep the terminal's input away from it.
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(cliDll);
        psi.ArgumentList.Add("cluster");
        psi.ArgumentList.Add("--brokers");
        psi.ArgumentList.Add("3");
        psi.ArgumentList.Add("--rtt");
        psi.ArgumentList.Add(rttMs.ToString(System.Globalization.CultureInfo.InvariantCulture));
        foreach (var t in topics)
        {
            psi.ArgumentList.Add("--topic");
            psi.ArgumentList.Add(t);
        }

        var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start the cluster process");
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                Console.Error.WriteLine($"[cluster] {e.Data}");
            }
        };
        process.BeginErrorReadLine();
        var readLine = process.StandardOutput.ReadLineAsync();
        if (!readLine.Wait(TimeSpan.FromSeconds(60)) || readLine.Result is not { } line || !line.StartsWith("BOOTSTRAP ", StringComparison.Ordinal))
        {
            try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            throw new InvalidOperationException($"samsa cluster did not print BOOTSTRAP (exited: {process.HasExited}).");
        }

        // Keep draining stdout so the child never blocks on a full pipe.
        _ = process.StandardOutput.ReadToEndAsync();
        return new ClusterProcess(process, line["BOOTSTRAP ".Length..].Trim());
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _killed, 1) != 0)
        {
            return;
        }

        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
        }

        _process.Dispose();
    }
}
