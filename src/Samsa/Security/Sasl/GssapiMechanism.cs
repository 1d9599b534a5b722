using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Net.Security;
using System.Runtime.InteropServices;
using System.Text;

namespace Samsa.Security.Sasl;

/// <summary>
/// GSSAPI (Kerberos V5, RFC 4752) through .NET's <see cref="NegotiateAuthentication"/>, which calls the platform's
/// GSSAPI library (MIT <c>libgssapi_krb5.so.2</c> on Linux): Samsa ships no native code.
/// </summary>
/// <remarks>
/// <para>The target is <c>{sasl.kerberos.service.name}/{broker host}</c>, the host as the broker was reached (bootstrap
/// or advertised), as Java's <c>SaslClientAuthenticator</c> names it (<c>kafka/broker1.example.com@REALM</c>).</para>
/// <para>The exchange, as Java's <c>GssKrb5Client</c> and Kafka's broker run it: the client's AP-REQ, the server's AP-REP
/// (mutual authentication), an empty client message once the context is established, then the RFC 4752 §3.1 security
/// layer negotiation: the server sends a wrapped 4-byte offer (a bit mask of layers, then a 3-byte maximum message
/// size), the client answers with a wrapped message choosing layer 1 (no security layer: Kafka never uses one, TLS
/// protects the connection), a maximum size of 0 (RFC 4752: 0 when no layer is chosen) and the authorization id. The
/// server's empty answer to that completes the exchange.</para>
/// <para>Credentials: the default ticket cache (<c>KRB5CCNAME</c>, filled by <c>kinit</c>), or a keytab. .NET cannot take a
/// keytab, nor ask for a principal's credentials without its password; MIT Kerberos (1.11+) gets initiator credentials
/// from the client keytab named by <c>KRB5_CLIENT_KTNAME</c> when the ticket cache is empty, so a keytab login points the
/// process at the keytab and at an empty in-memory ticket cache (<see cref="KerberosEnvironment.UseClientKeytab"/>).</para>
/// </remarks>
internal sealed class GssapiMechanism(string serviceName, string? principal) : ISaslMechanism
{
    /// <summary>RFC 4752 security layer bit: no security layer.</summary>
    internal const byte NoSecurityLayer = 1;

    public string Name => "GSSAPI";

    public string ServiceName => serviceName;

    public ValueTask<ISaslExchange> BeginAsync(string host, TimeSpan minimumValidity, CancellationToken cancellationToken) =>
        new(new Exchange(serviceName, host, principal));

    /// <summary>The target name .NET expects (<c>service/host</c>; it imports it as the host-based service <c>service@host</c>).</summary>
    internal static string TargetName(string serviceName, string host) => $"{serviceName}/{host}";

    /// <summary>
    /// Reads the server's unwrapped RFC 4752 offer: the layers it supports and the largest message it accepts.
    /// </summary>
    /// <exception cref="KafkaAuthenticationException">Not 4 bytes, or no "no security layer" offered.</exception>
    internal static (byte Layers, int MaxSize) ReadOffer(ReadOnlySpan<byte> offer)
    {
        if (offer.Length != 4)
        {
            throw new KafkaAuthenticationException($"The broker's GSSAPI security layer offer has {offer.Length} bytes; RFC 4752 makes it 4.");
        }

        if ((offer[0] & NoSecurityLayer) == 0)
        {
            throw new KafkaAuthenticationException(
                $"The broker's GSSAPI security layer offer (0x{offer[0]:X2}) does not include 'no security layer', the only one Samsa uses (Kafka protects the connection with TLS instead).");
        }

        return (offer[0], (offer[1] << 16) | (offer[2] << 8) | offer[3]);
    }

    /// <summary>The client's RFC 4752 answer before wrapping: layer 1, maximum size 0, then the UTF-8 authorization id.</summary>
    internal static byte[] Answer(string? authorizationId)
    {
        var id = Encoding.UTF8.GetBytes(authorizationId ?? "");
        var answer = new byte[4 + id.Length];
        BinaryPrimitives.WriteInt32BigEndian(answer, 0);
        answer[0] = NoSecurityLayer;
        id.CopyTo(answer, 4);
        return answer;
    }

    /// <summary>What a failed <see cref="NegotiateAuthentication"/> step means to a user, and what to check.</summary>
    internal static string Explain(NegotiateAuthenticationStatusCode status, string target) => status switch
    {
        NegotiateAuthenticationStatusCode.Unsupported =>
            $"Kerberos is not available on this machine: the platform's GSSAPI library could not be used. {KerberosEnvironment.InstallHint}",
        NegotiateAuthenticationStatusCode.TargetUnknown =>
            $"the KDC does not know the service principal {target}: check sasl.kerberos.service.name and that the broker's host name (as bootstrap.servers or the broker's advertised listener gives it) is the host of its Kerberos principal",
        NegotiateAuthenticationStatusCode.UnknownCredentials or NegotiateAuthenticationStatusCode.CredentialsExpired =>
            "no valid Kerberos credentials: run kinit (the ticket cache KRB5CCNAME), or give a keytab and principal in sasl.jaas.config (useKeyTab=true keyTab=\"...\" principal=\"...\")",
        NegotiateAuthenticationStatusCode.InvalidCredentials =>
            "the Kerberos credentials were refused (a wrong key or password, a disabled principal, or a keytab older than the principal's key)",
        NegotiateAuthenticationStatusCode.InvalidToken or NegotiateAuthenticationStatusCode.MessageAltered =>
            "the broker's Kerberos token is invalid (is the broker's keytab for the same service principal?)",
        NegotiateAuthenticationStatusCode.ContextExpired =>
            "the Kerberos ticket expired",
        // MIT's "server not found in Kerberos database", "client not found" and "cannot contact any KDC" all arrive as
        // GenericFailure: .NET does not pass the Kerberos error on, so the message lists what to check.
        _ => $"GSSAPI failed with {status} (.NET does not pass on the Kerberos error; set KRB5_TRACE=/dev/stderr to see it). Check that the brokers' principal is {target}@REALM (sasl.kerberos.service.name, and the broker host name as bootstrap.servers or the advertised listener give it), that the client has valid credentials (klist for the ticket cache KRB5CCNAME, or keyTab and principal in sasl.jaas.config), and that KRB5_CONFIG names the realm's KDC",
    };

    // Disposable for the analyzers; the context is disposed when the exchange ends, and by its SafeHandle otherwise.
    private sealed class Exchange(string serviceName, string host, string? principal) : ISaslExchange, IDisposable
    {
        private readonly string _target = TargetName(serviceName, host);
        private NegotiateAuthentication? _context;
        private int _stage; // 0: establishing the context; 1: waiting for the layer offer; 2: waiting for the final answer

        public string? ServerError => null;

        public byte[] Start()
        {
            KerberosEnvironment.EnsureGssapiLibrary();
            _context = new NegotiateAuthentication(new NegotiateAuthenticationClientOptions
            {
                Package = "Kerberos",
                TargetName = _target,
                // The default credentials: .NET drops a user name without a password, so a keytab's principal is chosen
                // by pointing the process at it (KerberosEnvironment.UseClientKeytab).
                Credential = CredentialCache.DefaultNetworkCredentials,
                RequiredProtectionLevel = ProtectionLevel.Sign,
                RequireMutualAuthentication = true,
            });
            return Step(ReadOnlySpan<byte>.Empty) ?? [];
        }

        public byte[]? Respond(ReadOnlySpan<byte> challenge)
        {
            var context = _context!;
            switch (_stage)
            {
                case 0:
                    return Step(challenge) ?? [];
                case 1:
                    var offer = new ArrayBufferWriter<byte>(4);
                    var unwrapped = context.Unwrap(challenge, offer, out _);
                    if (unwrapped != NegotiateAuthenticationStatusCode.Completed)
                    {
                        throw Fail($"could not unwrap the broker's security layer offer ({unwrapped})");
                    }

                    ReadOffer(offer.WrittenSpan);
                    var answer = new ArrayBufferWriter<byte>(64);
                    var wrapped = context.Wrap(Answer(principal), answer, requestEncryption: false, out _);
                    if (wrapped != NegotiateAuthenticationStatusCode.Completed)
                    {
                        throw Fail($"could not wrap the security layer answer ({wrapped})");
                    }

                    _stage = 2;
                    return answer.WrittenSpan.ToArray();
                default:
                    if (!challenge.IsEmpty)
                    {
                        throw Fail("the broker sent more after the security layer negotiation, which RFC 4752 ends");
                    }

                    context.Dispose();
                    return null;
            }
        }

        /// <summary>One context establishment step; null when the context is established with nothing left to send.</summary>
        private byte[]? Step(ReadOnlySpan<byte> incoming)
        {
            var context = _context!;
            var outgoing = context.GetOutgoingBlob(incoming, out var status);
            switch (status)
            {
                case NegotiateAuthenticationStatusCode.ContinueNeeded:
                    return outgoing ?? [];
                case NegotiateAuthenticationStatusCode.Completed:
                    _stage = 1;
                    return outgoing is { Length: > 0 } ? outgoing : null;
                default:
                    throw Fail(Explain(status, _target));
            }
        }

        public void Dispose() => _context?.Dispose();

        private KafkaAuthenticationException Fail(string why)
        {
            _context?.Dispose();
            return new($"SASL GSSAPI authentication to {_target} failed: {why}.");
        }
    }
}

/// <summary>
/// The process-wide Kerberos environment that MIT's GSSAPI library reads. .NET's <see cref="Environment.SetEnvironmentVariable(string, string)"/>
/// changes only the managed copy on Unix, so a keytab is handed to the native library with <c>setenv</c> itself.
/// </summary>
internal static class KerberosEnvironment
{
    public const string ClientKeytabVariable = "KRB5_CLIENT_KTNAME";

    public const string InstallHint =
        "Install MIT Kerberos' GSSAPI library (Debian/Ubuntu: apt-get install libgssapi-krb5-2; RHEL/Fedora: dnf install krb5-libs; Alpine: apk add krb5-libs)";

    private static readonly object Gate = new();

    /// <summary>Whether the platform's GSSAPI library can be loaded (always true on Windows, which has SSPI).</summary>
    public static bool GssapiLibraryAvailable() =>
        !OperatingSystem.IsLinux() && !OperatingSystem.IsFreeBSD()
        || (NativeLibrary.TryLoad("libgssapi_krb5.so.2", out var handle) && Free(handle))
        || (NativeLibrary.TryLoad("libgssapi_krb5.so", out handle) && Free(handle));

    /// <exception cref="KafkaAuthenticationException">The library is missing.</exception>
    public static void EnsureGssapiLibrary()
    {
        if (!GssapiLibraryAvailable())
        {
            throw new KafkaAuthenticationException($"SASL GSSAPI (Kerberos) needs the platform's GSSAPI library (libgssapi_krb5.so.2), which is not installed. {InstallHint}.");
        }
    }

    /// <summary>
    /// The in-memory ticket cache a keytab login uses (see <see cref="UseClientKeytab"/>): one per keytab and principal, since
    /// an MIT memory cache lives as long as the process and keeps the tickets (for its realm) of whoever used it.
    /// </summary>
    public static string KeytabCache(string keytab, string principal) =>
        "MEMORY:samsa-" + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(keytab + "\n" + principal)), 0, 8);

    /// <summary>
    /// Makes MIT Kerberos log in from <paramref name="keytab"/> as <paramref name="principal"/>: names it as the process's
    /// client keytab (<c>KRB5_CLIENT_KTNAME</c>) and points the process's default ticket cache (<c>KRB5CCNAME</c>) at an
    /// empty in-memory cache, from which MIT gets tickets from the keytab (and again when they expire). .NET asks for the
    /// default credentials only (it drops a user name without a password), so a ticket cache holding another principal
    /// would win otherwise, and with an empty cache MIT takes the keytab's first principal: that must be
    /// <paramref name="principal"/>.
    /// </summary>
    /// <returns>Null when done; otherwise why not.</returns>
    public static string? UseClientKeytab(string keytab, string principal)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS() && !OperatingSystem.IsFreeBSD())
        {
            return "a keytab is used through MIT Kerberos' KRB5_CLIENT_KTNAME, which only Linux, macOS and FreeBSD have; on Windows log on with the principal instead";
        }

        string first;
        try
        {
            first = FirstPrincipal(File.ReadAllBytes(keytab));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or ArgumentOutOfRangeException)
        {
            return $"it cannot be read as a keytab ({e.Message})";
        }

        if (!SamePrincipal(first, principal))
        {
            return $"its first principal is {first}, not {principal}, and MIT Kerberos logs in as the first (.NET cannot ask for another): use a keytab whose first entry is {principal} (ktutil)";
        }

        lock (Gate)
        {
            var wanted = keytab.StartsWith("FILE:", StringComparison.Ordinal) ? keytab : "FILE:" + keytab;
            var current = GetNative(ClientKeytabVariable);
            if (current is not null && current != wanted && current != keytab)
            {
                return $"the process already names another client keytab in {ClientKeytabVariable} ({current}); a process logs in from one keytab";
            }

            var cache = KeytabCache(keytab, principal);
            if ((current is null && SetEnv(ClientKeytabVariable, wanted, 1) != 0) || (GetNative("KRB5CCNAME") != cache && SetEnv("KRB5CCNAME", cache, 1) != 0))
            {
                return $"setting {ClientKeytabVariable} and KRB5CCNAME failed";
            }

            return null;
        }
    }

    /// <summary>The principal of a keytab's first entry (MIT keytab format 0x0502 or 0x0501), as <c>a/b@REALM</c>.</summary>
    /// <exception cref="FormatException">Not a keytab, or one without entries.</exception>
    internal static string FirstPrincipal(ReadOnlySpan<byte> keytab)
    {
        if (keytab.Length < 2 || keytab[0] != 5 || keytab[1] is not (1 or 2))
        {
            throw new FormatException("not an MIT keytab (version 0x0501 or 0x0502)");
        }

        var v1 = keytab[1] == 1;
        var at = 2;
        while (at + 4 <= keytab.Length)
        {
            var size = BinaryPrimitives.ReadInt32BigEndian(keytab[at..]);
            at += 4;
            if (size < 0)
            {
                at -= size; // a deleted entry: skip its hole
                continue;
            }

            var entry = keytab.Slice(at, Math.Min(size, keytab.Length - at));
            var count = BinaryPrimitives.ReadUInt16BigEndian(entry) - (v1 ? 1 : 0);
            var pos = 2;
            var realm = Counted(entry, ref pos);
            var components = new string[count];
            for (var i = 0; i < count; i++)
            {
                components[i] = Counted(entry, ref pos);
            }

            return $"{string.Join('/', components)}@{realm}";
        }

        throw new FormatException("the keytab has no entries");

        static string Counted(ReadOnlySpan<byte> entry, ref int pos)
        {
            var length = BinaryPrimitives.ReadUInt16BigEndian(entry[pos..]);
            var text = Encoding.UTF8.GetString(entry.Slice(pos + 2, length));
            pos += 2 + length;
            return text;
        }
    }

    /// <summary>Whether <paramref name="configured"/> (with or without its realm) names <paramref name="full"/>.</summary>
    internal static bool SamePrincipal(string full, string configured) =>
        configured.Contains('@', StringComparison.Ordinal)
            ? string.Equals(full, configured, StringComparison.Ordinal)
            : full.StartsWith(configured + "@", StringComparison.Ordinal);

    private static bool Free(IntPtr handle)
    {
        NativeLibrary.Free(handle);
        return true;
    }

    private static string? GetNative(string name) => Marshal.PtrToStringUTF8(GetEnv(name));

    [DllImport("libc", EntryPoint = "getenv", CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
    private static extern IntPtr GetEnv(string name);

    [DllImport("libc", EntryPoint = "setenv", CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
    private static extern int SetEnv(string name, string value, int overwrite);
}
