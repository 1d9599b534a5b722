using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Samsa.Testing.Tls;

/// <summary>
/// A real OpenSSL TLS server in front of a <see cref="MockCluster"/>: one <c>stunnel</c> process per broker
/// (Debian's <c>stunnel4</c>) terminates TLS on a free port on 127.0.0.1 and forwards the plaintext to the mock
/// broker, and the brokers advertise those ports in Metadata, so every connection a client makes goes through TLS.
/// The certificates are a throwaway PKI (<see cref="Certificates"/>). Disposing stops the processes, restores the
/// advertised ports and deletes the files.
/// </summary>
/// <example>
/// <code>
/// using var cluster = MockCluster.Start(3);
/// using var front = TlsFront.Start(cluster, new TlsFrontOptions { RequireClientCertificate = true });
/// // produce to front.BootstrapServers with security.protocol=SSL, ssl.truststore.location=front.Certificates.CaPath, ...
/// </code>
/// </example>
public sealed class TlsFront : IDisposable
{
    private readonly MockCluster _cluster;
    private readonly List<Tunnel> _tunnels = [];
    private int _disposed;

    private TlsFront(MockCluster cluster, TlsFrontOptions options, TlsCertificates certificates)
    {
        _cluster = cluster;
        Options = options;
        Certificates = certificates;
    }

    /// <summary>The stunnel executable on PATH (<c>stunnel</c> or <c>stunnel4</c>), or null when it is not installed.</summary>
    public static string? StunnelPath { get; } = FindOnPath("stunnel") ?? FindOnPath("stunnel4");

    /// <summary>What a test needs to say when stunnel is missing.</summary>
    public const string MissingStunnel = "stunnel is not installed (Debian: apt-get install -y stunnel4); the TLS tests need it as their TLS server. .ci/run installs it.";

    /// <summary>How the front was started.</summary>
    public TlsFrontOptions Options { get; }

    /// <summary>The CA, server and client certificates, as files.</summary>
    public TlsCertificates Certificates { get; }

    /// <summary>Comma-separated "host:port" list of the TLS listeners, one per broker, with <see cref="TlsFrontOptions.AdvertisedHost"/>.</summary>
    public string BootstrapServers => string.Join(',', _tunnels.Select(t => $"{Options.AdvertisedHost}:{t.ListenPort}"));

    /// <summary>Connections the TLS listeners accepted so far, as stunnel logged them.</summary>
    public int AcceptedConnections => _tunnels.Sum(t => t.Accepted);

    /// <summary>
    /// Makes the certificates and starts one stunnel per broker of <paramref name="cluster"/>. Throws
    /// <see cref="InvalidOperationException"/> when stunnel is missing or does not start (with its log).
    /// With <paramref name="inFrontOf"/>, each tunnel leads to that proxy's listener for its broker instead of
    /// the broker itself (e.g. TLS before a <see cref="Proxy.KafkaProxy"/> with a SASL front: SASL_SSL); dispose
    /// the TLS front first, it gives the advertised ports back to the proxy.
    /// </summary>
    public static TlsFront Start(MockCluster cluster, TlsFrontOptions? options = null, Proxy.KafkaProxy? inFrontOf = null)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        options ??= new TlsFrontOptions();
        if (StunnelPath is null)
        {
            throw new InvalidOperationException(MissingStunnel);
        }

        // librdkafka lists the bootstrap servers in broker id order (1..N).
        var upstreamPorts = (inFrontOf?.BootstrapServers ?? cluster.BootstrapServers).Split(',')
            .Select(s => int.Parse(s[(s.LastIndexOf(':') + 1)..], NumberStyles.None, CultureInfo.InvariantCulture))
            .ToArray();
        var front = new TlsFront(cluster, options, TlsCertificates.Create(options.Certificates));
        try
        {
            for (var i = 0; i < upstreamPorts.Length; i++)
            {
                var tunnel = Tunnel.Start(front, i + 1, upstreamPorts[i]);
                front._tunnels.Add(tunnel);
                cluster.SetBrokerHostPort(i + 1, options.AdvertisedHost, tunnel.ListenPort);
            }
        }
        catch
        {
            front.Dispose();
            throw;
        }

        return front;
    }

    /// <summary>
    /// The Java client settings (<c>security.protocol</c> and <c>ssl.*</c>) for this front: the CA as a PEM trust
    /// store and, when <paramref name="withClientCertificate"/>, the client certificate as a PEM key store with
    /// its encrypted key. Ready for a <c>client.properties</c> file.
    /// </summary>
    public IReadOnlyList<KeyValuePair<string, string>> ClientProperties(bool withClientCertificate)
    {
        var properties = new List<KeyValuePair<string, string>>
        {
            new("security.protocol", "SSL"),
            new("ssl.truststore.type", "PEM"),
            new("ssl.truststore.location", Certificates.CaPath),
        };
        if (withClientCertificate)
        {
            properties.Add(new("ssl.keystore.type", "PEM"));
            properties.Add(new("ssl.keystore.location", Certificates.ClientKeystorePemPath));
            properties.Add(new("ssl.key.password", Certificates.KeyPassword));
        }

        return properties;
    }

    /// <summary>Writes <see cref="ClientProperties"/> with bootstrap.servers to a <c>client.properties</c> file in the certificates' folder and returns its path.</summary>
    public string WriteClientProperties(bool withClientCertificate)
    {
        var path = Path.Combine(Certificates.Directory, withClientCertificate ? "client-mtls.properties" : "client.properties");
        var text = new StringBuilder("# Samsa TLS front: Java client settings\n");
        text.Append("bootstrap.servers=").Append(BootstrapServers).Append('\n');
        foreach (var (key, value) in ClientProperties(withClientCertificate))
        {
            // Backslashes are escapes in .properties files (Windows paths).
            text.Append(key).Append('=').Append(value.Replace("\\", "\\\\", StringComparison.Ordinal)).Append('\n');
        }

        File.WriteAllText(path, text.ToString());
        return path;
    }

    /// <summary>What stunnel logged so far, every process; for diagnosing a failed test.</summary>
    public string Log => string.Join("\n", _tunnels.Select(t => $"[broker {t.BrokerId}]\n{t.Log}"));

    /// <summary>Stops the stunnel processes, restores the brokers' advertised ports and deletes the files.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        foreach (var tunnel in _tunnels)
        {
            tunnel.Dispose();
            try
            {
                _cluster.SetBrokerHostPort(tunnel.BrokerId, "127.0.0.1", tunnel.UpstreamPort);
            }
            catch (ObjectDisposedException)
            {
                // The cluster went first; nothing to restore.
            }
        }

        Certificates.Dispose();
    }

    /// <inheritdoc/>
    public override string ToString() => $"TlsFront({BootstrapServers})";

    private static string? FindOnPath(string name)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>One stunnel process: TLS on <see cref="ListenPort"/>, plaintext to the mock broker's port.</summary>
    private sealed class Tunnel : IDisposable
    {
        private const int MaxLogLines = 400;
        private readonly Process _process;
        private readonly Queue<string> _log = new();
        private int _accepted;

        private Tunnel(int brokerId, int upstreamPort, int listenPort, Process process)
        {
            BrokerId = brokerId;
            UpstreamPort = upstreamPort;
            ListenPort = listenPort;
            _process = process;
        }

        public int BrokerId { get; }

        public int UpstreamPort { get; }

        public int ListenPort { get; }

        public int Accepted => Volatile.Read(ref _accepted);

        public string Log
        {
            get
            {
                lock (_log)
                {
                    return string.Join("\n", _log);
                }
            }
        }

        public static Tunnel Start(TlsFront front, int brokerId, int upstreamPort)
        {
            // The port is picked here and handed to stunnel, so another process may take it in between; a few
            // attempts make that harmless.
            for (var attempt = 1; ; attempt++)
            {
                var port = FreePort();
                var tunnel = Launch(front, brokerId, upstreamPort, port);
                if (tunnel.WaitUntilListening(TimeSpan.FromSeconds(15), out var why))
                {
                    return tunnel;
                }

                tunnel.Dispose();
                if (attempt == 3)
                {
                    throw new InvalidOperationException($"stunnel for broker {brokerId} did not start: {why}\n{tunnel.Log}");
                }
            }
        }

        private static Tunnel Launch(TlsFront front, int brokerId, int upstreamPort, int listenPort)
        {
            var certificates = front.Certificates;
            var config = new StringBuilder();
            config.Append("foreground = yes\n");
            config.Append("pid =\n");
            // 5 logs each accepted connection (counted) and handshake errors.
            config.Append("debug = 5\n");
            config.Append("syslog = no\n");
            config.Append(CultureInfo.InvariantCulture, $"[broker-{brokerId}]\n");
            config.Append(CultureInfo.InvariantCulture, $"accept = 127.0.0.1:{listenPort}\n");
            config.Append(CultureInfo.InvariantCulture, $"connect = 127.0.0.1:{upstreamPort}\n");
            config.Append(CultureInfo.InvariantCulture, $"cert = {certificates.ServerCertificatePath}\n");
            config.Append(CultureInfo.InvariantCulture, $"key = {certificates.ServerKeyPath}\n");
            config.Append("sslVersionMin = TLSv1.2\n");
            config.Append("TIMEOUTclose = 0\n");
            if (front.Options.RequireClientCertificate)
            {
                config.Append(CultureInfo.InvariantCulture, $"CAfile = {certificates.CaPath}\n");
                config.Append("verifyChain = yes\n");
                config.Append("requireCert = yes\n");
            }

            var configPath = Path.Combine(certificates.Directory, $"stunnel-{brokerId}.conf");
            File.WriteAllText(configPath, config.ToString());

            var start = new ProcessStartInfo(StunnelPath!, configPath)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                RedirectStandardInput = true,
                UseShellExecute = false,
            };
            var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {StunnelPath}.");
            var tunnel = new Tunnel(brokerId, upstreamPort, listenPort, process);
            process.ErrorDataReceived += (_, e) => tunnel.OnLogLine(e.Data);
            process.OutputDataReceived += (_, e) => tunnel.OnLogLine(e.Data);
            process.BeginErrorReadLine();
            process.BeginOutputReadLine();
            return tunnel;
        }

        public void Dispose()
        {
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
                // Already gone.
            }

            _process.Dispose();
        }

        private void OnLogLine(string? line)
        {
            if (line is null)
            {
                return;
            }

            if (line.Contains("accepted connection", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref _accepted);
            }

            lock (_log)
            {
                _log.Enqueue(line);
                if (_log.Count > MaxLogLines)
                {
                    _log.Dequeue();
                }
            }
        }

        private bool WaitUntilListening(TimeSpan timeout, out string why)
        {
            var deadline = DateTime.UtcNow + timeout;
            while (DateTime.UtcNow < deadline)
            {
                if (_process.HasExited)
                {
                    why = $"it exited with code {_process.ExitCode}";
                    return false;
                }

                // Its log says so once the listener is bound; a connection would count as a client.
                if (Log.Contains("Configuration successful", StringComparison.Ordinal) && IsBound(ListenPort))
                {
                    why = "";
                    return true;
                }

                Thread.Sleep(20);
            }

            why = $"port {ListenPort} was not listening after {timeout.TotalSeconds:0} s";
            return false;
        }

        // Bound by someone: binding it ourselves fails.
        private static bool IsBound(int port)
        {
            try
            {
                using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                probe.Bind(new IPEndPoint(IPAddress.Loopback, port));
                return false;
            }
            catch (SocketException)
            {
                return true;
            }
        }

        private static int FreePort()
        {
            using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            return ((IPEndPoint)listener.LocalEndPoint!).Port;
        }
    }
}

/// <summary>How <see cref="TlsFront.Start"/> sets up the front.</summary>
public sealed record TlsFrontOptions
{
    /// <summary>The listeners require a client certificate signed by the test CA (mTLS).</summary>
    public bool RequireClientCertificate { get; init; }

    /// <summary>The host name the brokers advertise for the TLS ports (default 127.0.0.1; "localhost" exercises SNI and DNS names).</summary>
    public string AdvertisedHost { get; init; } = "127.0.0.1";

    /// <summary>How the server certificate is made: its names and validity (a wrong name, an expired certificate).</summary>
    public TlsCertificateOptions Certificates { get; init; } = new();
}
