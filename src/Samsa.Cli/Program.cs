// samsa: produce records from lines of text, measure producer throughput and latency, or run an
// in-process mock cluster. See CliApp for the commands; `samsa --help` for usage.
using System.Runtime.InteropServices;
using Samsa.Cli;

using var cts = new CancellationTokenSource();

// Ctrl+C / SIGTERM: the running command stops gracefully (flushes, prints its summary).
// A second Ctrl+C terminates the process at once.
Console.CancelKeyPress += (_, e) =>
{
    if (!cts.IsCancellationRequested)
    {
        e.Cancel = true;
        cts.Cancel();
    }
};
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
{
    context.Cancel = true;
    cts.Cancel();
});

return await CliApp.RunAsync(args, Console.In, Console.Out, Console.Error,
    stdoutIsTerminal: !Console.IsOutputRedirected, canStartChildProcesses: true, cancellationToken: cts.Token).ConfigureAwait(false);
