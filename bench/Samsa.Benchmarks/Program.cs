using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace Samsa.Benchmarks;

public static class Program
{
    public static void Main(string[] args)
    {
        // A short in-process job: no generated project to build (central package management and a
        // custom ArtifactsPath make BDN's out-of-process toolchain slow and fragile here), and the whole
        // suite runs in a few minutes on 2 cores. Pass --job etc. to override.
        var config = DefaultConfig.Instance
            .AddJob(Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance).WithId("ShortInProc"))
            .AddDiagnoser(MemoryDiagnoser.Default)
            .WithOptions(ConfigOptions.JoinSummary);
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, config);
    }
}
