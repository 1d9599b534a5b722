using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Samsa.Testing.Security;

/// <summary>
/// A throwaway Kerberos realm with Debian's MIT KDC (<c>krb5-kdc</c>, <c>krb5-admin-server</c>, <c>krb5-user</c>): a temp
/// directory with <c>krb5.conf</c> and <c>kdc.conf</c>, a database made with <c>kdb5_util create -s</c>, the service
/// principal <c>{service}/{host}@REALM</c> in a keytab, and <c>krb5kdc</c> on a free loopback port.
/// </summary>
/// <remarks>
/// <para>Starting it points this process at the realm: <c>KRB5_CONFIG</c>, <c>KRB5CCNAME</c> (a ticket cache in the temp
/// directory) and <c>KRB5_KTNAME</c> (the service keytab, which a <see cref="SaslFront"/> accepting GSSAPI reads) are set in
/// the native environment that the GSSAPI library reads (.NET's <see cref="Environment.SetEnvironmentVariable(string, string)"/>
/// does not reach it on Unix). These are process-wide: run tests that use a realm one at a time. Disposing stops the KDC,
/// restores the variables (and <c>KRB5_CLIENT_KTNAME</c>, which a producer with a keytab sets) and deletes the directory.</para>
/// </remarks>
public sealed class KerberosRealm : IDisposable
{
    private static readonly string[] Variables = ["KRB5_CONFIG", "KRB5CCNAME", "KRB5_KTNAME", "KRB5_CLIENT_KTNAME", "KRB5RCACHEDIR", "KRB5_KDC_PROFILE"];
    private static readonly string[] Programs = ["krb5kdc", "kdb5_util", "kadmin.local", "kinit"];
    private readonly Dictionary<string, string?> _saved;
    private readonly Process _kdc;
    private readonly Dictionary<string, string> _env;
    private int _disposed;

    private KerberosRealm(string realm, string directory, Process kdc, Dictionary<string, string> env, Dictionary<string, string?> saved, string serviceKeytab, string servicePrincipal, int port)
    {
        Realm = realm;
        Directory = directory;
        _kdc = kdc;
        _env = env;
        _saved = saved;
        ServiceKeytab = serviceKeytab;
        ServicePrincipal = servicePrincipal;
        KdcPort = port;
    }

    /// <summary>The realm name, e.g. <c>SAMSA.TEST</c>.</summary>
    public string Realm { get; }

    /// <summary>The temp directory holding the configuration, the database, the keytabs and the ticket cache.</summary>
    public string Directory { get; }

    /// <summary>The KDC's TCP (and UDP) port on 127.0.0.1.</summary>
    public int KdcPort { get; }

    /// <summary>The service principal, e.g. <c>kafka/localhost@SAMSA.TEST</c>.</summary>
    public string ServicePrincipal { get; }

    /// <summary>The service principal's keytab (<c>KRB5_KTNAME</c>).</summary>
    public string ServiceKeytab { get; }

    /// <summary>The ticket cache of this process (<c>KRB5CCNAME</c>), without the <c>FILE:</c> prefix.</summary>
    public string TicketCache => Path.Combine(Directory, "ccache");

    /// <summary>Why a realm cannot start here (a missing program or library), or null when it can.</summary>
    public static string? Missing
    {
        get
        {
            if (!OperatingSystem.IsLinux())
            {
                return "the Kerberos test realm runs MIT krb5 programs, on Linux only";
            }

            var missing = Programs.Where(p => Find(p) is null).ToList();
            if (!NativeLibrary.TryLoad("libgssapi_krb5.so.2", out var handle))
            {
                missing.Add("libgssapi_krb5.so.2");
            }
            else
            {
                NativeLibrary.Free(handle);
            }

            return missing.Count == 0
                ? null
                : $"MIT Kerberos is not installed ({string.Join(", ", missing)} missing): apt-get install -y krb5-kdc krb5-admin-server krb5-user libgssapi-krb5-2";
        }
    }

    /// <summary>Creates the realm with the service principal <c>{serviceName}/{host}</c>, starts the KDC and points this process at it.</summary>
    public static KerberosRealm Start(string realm = "SAMSA.TEST", string serviceName = "kafka", string host = "localhost")
    {
        if (Missing is { } why)
        {
            throw new InvalidOperationException(why);
        }

        var dir = Path.Combine(Path.GetTempPath(), "samsa-krb5-" + Guid.NewGuid().ToString("N")[..12]);
        System.IO.Directory.CreateDirectory(dir);
        var port = FreePort();
        var krb5Conf = Path.Combine(dir, "krb5.conf");
        var kdcConf = Path.Combine(dir, "kdc.conf");
        File.WriteAllText(krb5Conf, string.Create(CultureInfo.InvariantCulture, $$"""
            [libdefaults]
             default_realm = {{realm}}
             dns_lookup_kdc = false
             dns_lookup_realm = false
             dns_canonicalize_hostname = false
             rdns = false
             udp_preference_limit = 1
             ticket_lifetime = 1h
            [realms]
             {{realm}} = {
              kdc = 127.0.0.1:{{port}}
             }
            [domain_realm]
             {{host}} = {{realm}}
            """));
        File.WriteAllText(kdcConf, string.Create(CultureInfo.InvariantCulture, $$"""
            [kdcdefaults]
             kdc_listen = 127.0.0.1:{{port}}
             kdc_tcp_listen = 127.0.0.1:{{port}}
            [realms]
             {{realm}} = {
              database_name = {{dir}}/principal
              key_stash_file = {{dir}}/stash
              acl_file = {{dir}}/kadm5.acl
              kdc_listen = 127.0.0.1:{{port}}
              kdc_tcp_listen = 127.0.0.1:{{port}}
             }
            [logging]
             kdc = FILE:{{dir}}/kdc.log
            """));
        var env = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["KRB5_CONFIG"] = krb5Conf,
            ["KRB5_KDC_PROFILE"] = kdcConf,
            ["KRB5CCNAME"] = "FILE:" + Path.Combine(dir, "ccache"),
            ["KRB5RCACHEDIR"] = dir,
        };
        Run(env, "kdb5_util", "create", "-s", "-r", realm, "-P", Guid.NewGuid().ToString("N"));
        var servicePrincipal = $"{serviceName}/{host}";
        var serviceKeytab = Path.Combine(dir, "service.keytab");
        Admin(env, realm, $"addprinc -randkey {servicePrincipal}");
        Admin(env, realm, $"ktadd -k {serviceKeytab} {servicePrincipal}");
        env["KRB5_KTNAME"] = "FILE:" + serviceKeytab;

        var kdc = Start(env, Find("krb5kdc")!, "-n", "-r", realm);
        try
        {
            WaitForPort(port, kdc, dir);
        }
        catch
        {
            Stop(kdc);
            throw;
        }

        var saved = Variables.ToDictionary(v => v, NativeEnvironment.Get, StringComparer.Ordinal);
        foreach (var v in Variables)
        {
            NativeEnvironment.Set(v, env.GetValueOrDefault(v));
        }

        return new KerberosRealm(realm, dir, kdc, env, saved, serviceKeytab, $"{servicePrincipal}@{realm}", port);
    }

    /// <summary>Adds a principal with a password.</summary>
    public KerberosRealm AddPrincipal(string name, string password)
    {
        Admin(_env, Realm, $"addprinc -pw {password} {name}");
        return this;
    }

    /// <summary>Adds a principal with a random key and returns the path of a new keytab holding it.</summary>
    public string AddKeytabPrincipal(string name)
    {
        var keytab = Path.Combine(Directory, name.Replace('/', '_') + ".keytab");
        Admin(_env, Realm, $"addprinc -randkey {name}");
        Admin(_env, Realm, $"ktadd -k {keytab} {name}");
        return keytab;
    }

    /// <summary>Deletes a principal from the database (its keytabs stay, and stop working).</summary>
    public void DeletePrincipal(string name) => Admin(_env, Realm, $"delprinc -force {name}");

    /// <summary>Runs <c>kinit</c> for <paramref name="principal"/> with its password, filling this process's ticket cache.</summary>
    public void Kinit(string principal, string password) => RunWithInput(_env, "kinit", password + "\n", principal);

    /// <summary>Empties this process's ticket cache (<c>kdestroy</c>).</summary>
    public void Kdestroy()
    {
        if (File.Exists(TicketCache))
        {
            Run(_env, "kdestroy");
        }
    }

    /// <summary>The principals in this process's ticket cache's tickets (<c>klist</c>), e.g. to see that a keytab login cached a TGT.</summary>
    public string Klist() => Run(_env, "klist", "-c", _env["KRB5CCNAME"]);

    /// <summary>An environment variable as the native libraries see it (not .NET's managed copy).</summary>
    public static string? NativeVariable(string name) => NativeEnvironment.Get(name);

    /// <summary>The KDC's log.</summary>
    public string KdcLog => File.Exists(Path.Combine(Directory, "kdc.log")) ? File.ReadAllText(Path.Combine(Directory, "kdc.log")) : "";

    /// <summary>Stops the KDC, restores the process's Kerberos environment and deletes the realm's files.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        Stop(_kdc);
        foreach (var (name, value) in _saved)
        {
            NativeEnvironment.Set(name, value);
        }

        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A file still open; the temp directory is cleaned eventually.
        }
    }

    private static void Admin(Dictionary<string, string> env, string realm, string query) => Run(env, "kadmin.local", "-r", realm, "-q", query);

    private static string Run(Dictionary<string, string> env, string program, params string[] args) => RunWithInput(env, program, stdin: null, args);

    private static string RunWithInput(Dictionary<string, string> env, string program, string? stdin, params string[] args)
    {
        using var process = Start(env, Find(program) ?? throw new InvalidOperationException($"{program} is not installed"), args, redirectInput: stdin is not null);
        if (stdin is not null)
        {
            process.StandardInput.Write(stdin);
            process.StandardInput.Close();
        }

        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(60_000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', args)} did not finish within 60 s");
        }

        // kadmin.local reports most failures on stderr with exit code 0.
        var err = error.GetAwaiter().GetResult();
        if (process.ExitCode != 0 || (program == "kadmin.local" && err.Split('\n').Any(l => l.Length > 0 && !l.StartsWith("Authenticating as principal", StringComparison.Ordinal) && !l.Contains("No policy specified", StringComparison.Ordinal))))
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', args.Select(a => a.Contains(' ', StringComparison.Ordinal) ? $"\"{a}\"" : a))} failed ({process.ExitCode}): {err.Trim()}");
        }

        return output.GetAwaiter().GetResult();
    }

    private static Process Start(Dictionary<string, string> env, string path, string[] args, bool redirectInput = false)
    {
        var info = new ProcessStartInfo(path)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = redirectInput,
            UseShellExecute = false,
        };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        foreach (var (k, v) in env)
        {
            info.Environment[k] = v;
        }

        return Process.Start(info) ?? throw new InvalidOperationException($"could not start {path}");
    }

    private static Process Start(Dictionary<string, string> env, string path, params string[] args) => Start(env, path, args, redirectInput: false);

    private static void Stop(Process kdc)
    {
        try
        {
            if (!kdc.HasExited)
            {
                kdc.Kill();
                kdc.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        kdc.Dispose();
    }

    private static void WaitForPort(int port, Process kdc, string dir)
    {
        var until = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < until)
        {
            if (kdc.HasExited)
            {
                var log = File.Exists(Path.Combine(dir, "kdc.log")) ? File.ReadAllText(Path.Combine(dir, "kdc.log")) : "";
                throw new InvalidOperationException($"krb5kdc exited with {kdc.ExitCode}: {kdc.StandardError.ReadToEnd()} {log}");
            }

            try
            {
                using var client = new TcpClient();
                client.Connect(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException)
            {
                Thread.Sleep(50);
            }
        }

        throw new TimeoutException($"krb5kdc did not listen on 127.0.0.1:{port} within 30 s");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string? Find(string program)
    {
        var dirs = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Concat(["/usr/sbin", "/usr/bin", "/sbin", "/bin"]);
        return dirs.Select(d => Path.Combine(d, program)).FirstOrDefault(File.Exists);
    }

    /// <summary>The C library's environment, which native libraries read (the managed one is a copy on Unix).</summary>
    private static class NativeEnvironment
    {
        public static string? Get(string name) => Marshal.PtrToStringUTF8(GetEnv(name));

        public static void Set(string name, string? value)
        {
            var rc = value is null ? UnsetEnv(name) : SetEnv(name, value, 1);
            if (rc != 0)
            {
                throw new InvalidOperationException($"could not set {name} in the process environment");
            }

            Environment.SetEnvironmentVariable(name, value);
        }

        [DllImport("libc", EntryPoint = "getenv", CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
        private static extern IntPtr GetEnv(string name);

        [DllImport("libc", EntryPoint = "setenv", CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
        private static extern int SetEnv(string name, string value, int overwrite);

        [DllImport("libc", EntryPoint = "unsetenv", CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
        private static extern int UnsetEnv(string name);
    }
}
