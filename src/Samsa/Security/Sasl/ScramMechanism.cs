using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Samsa.Security.Sasl;

/// <summary>
/// SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677) as Kafka speaks them: no channel binding
/// (<c>n,,</c>), the user name escaped (<c>=</c> as <c>=3D</c>, <c>,</c> as <c>=2C</c>) but otherwise not
/// SASLprep-normalised, the password taken as UTF-8, at least 4096 iterations, and the server signature
/// checked before the exchange counts as done.
/// </summary>
internal sealed class ScramMechanism : ISaslMechanism
{
    /// <summary>Kafka's ScramMechanism minimum for both hashes; fewer would weaken a stolen exchange.</summary>
    internal const int MinIterations = 4096;

    private readonly HashAlgorithmName _hash;
    private readonly string _username;
    private readonly string _password;
    private readonly bool _tokenAuth;
    private readonly Func<string> _nonce;

    public ScramMechanism(SaslMechanism mechanism, string username, string password, bool tokenAuth)
        : this(mechanism == SaslMechanism.ScramSha512 ? HashAlgorithmName.SHA512 : HashAlgorithmName.SHA256, username, password, tokenAuth, NewNonce)
    {
    }

    /// <summary>For tests: any hash (SHA-1 for RFC 5802's example) and a fixed client nonce.</summary>
    internal ScramMechanism(HashAlgorithmName hash, string username, string password, bool tokenAuth, Func<string> nonce)
    {
        _hash = hash;
        _username = username;
        _password = password;
        _tokenAuth = tokenAuth;
        _nonce = nonce;
        Name = "SCRAM-" + hash.Name!.Replace("SHA", "SHA-", StringComparison.Ordinal);
    }

    public string Name { get; }

    public ValueTask<ISaslExchange> BeginAsync(TimeSpan minimumValidity, CancellationToken cancellationToken) => new(new Exchange(this));

    /// <summary>RFC 5802 §5.1 saslname: '=' and ',' would break the attribute syntax.</summary>
    internal static string EscapeUsername(string username) =>
        username.Replace("=", "=3D", StringComparison.Ordinal).Replace(",", "=2C", StringComparison.Ordinal);

    // 24 random bytes (192 bits), base64: printable and free of ','.
    private static string NewNonce() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(24));

    private static KafkaAuthenticationException Refused(string mechanism, string why) =>
        new($"SASL {mechanism} authentication failed: {why}");

    private sealed class Exchange(ScramMechanism m) : ISaslExchange
    {
        private const string Gs2Header = "n,,";
        private string _clientNonce = "";
        private string _clientFirstBare = "";
        private byte[]? _expectedServerSignature;
        private int _step;

        public string? ServerError => null;

        public byte[] Start()
        {
            _clientNonce = m._nonce();
            _clientFirstBare = $"n={EscapeUsername(m._username)},r={_clientNonce}" + (m._tokenAuth ? ",tokenauth=true" : "");
            _step = 1;
            return Encoding.UTF8.GetBytes(Gs2Header + _clientFirstBare);
        }

        public byte[]? Respond(ReadOnlySpan<byte> challenge)
        {
            var message = Encoding.UTF8.GetString(challenge);
            switch (_step)
            {
                case 1:
                    _step = 2;
                    return ClientFinal(message);
                case 2:
                    _step = 3;
                    VerifyServerFinal(message);
                    return null;
                default:
                    throw Refused(m.Name, "the broker sent a message after the exchange was complete.");
            }
        }

        private byte[] ClientFinal(string serverFirst)
        {
            var attributes = Attributes(serverFirst);
            if (attributes.TryGetValue('e', out var error))
            {
                throw Refused(m.Name, $"the broker answered '{error}'.");
            }

            if (attributes.ContainsKey('m'))
            {
                throw Refused(m.Name, "the broker requires an extension this client does not know (m=).");
            }

            if (!attributes.TryGetValue('r', out var nonce) || !attributes.TryGetValue('s', out var saltText) || !attributes.TryGetValue('i', out var iterationText))
            {
                throw Refused(m.Name, "the broker's first message lacks the nonce, salt or iteration count.");
            }

            if (!nonce.StartsWith(_clientNonce, StringComparison.Ordinal) || nonce.Length == _clientNonce.Length)
            {
                throw Refused(m.Name, "the broker's nonce does not extend the client's.");
            }

            if (!int.TryParse(iterationText, NumberStyles.None, CultureInfo.InvariantCulture, out var iterations) || iterations < MinIterations)
            {
                throw Refused(m.Name, $"the broker asks for {iterationText} iterations, fewer than the {MinIterations} Kafka requires.");
            }

            byte[] salt;
            try
            {
                salt = Convert.FromBase64String(saltText);
            }
            catch (FormatException)
            {
                throw Refused(m.Name, "the broker's salt is not base64.");
            }

            var hashLength = HashLength(m._hash);
            var saltedPassword = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(m._password), salt, iterations, m._hash, hashLength);
            var clientKey = Hmac(saltedPassword, "Client Key"u8);
            var storedKey = Hash(clientKey);
            var withoutProof = $"c={Convert.ToBase64String(Encoding.ASCII.GetBytes(Gs2Header))},r={nonce}";
            var authMessage = Encoding.UTF8.GetBytes($"{_clientFirstBare},{serverFirst},{withoutProof}");
            var clientSignature = Hmac(storedKey, authMessage);
            var proof = new byte[clientKey.Length];
            for (var i = 0; i < proof.Length; i++)
            {
                proof[i] = (byte)(clientKey[i] ^ clientSignature[i]);
            }

            var serverKey = Hmac(saltedPassword, "Server Key"u8);
            _expectedServerSignature = Hmac(serverKey, authMessage);
            CryptographicOperations.ZeroMemory(saltedPassword);
            CryptographicOperations.ZeroMemory(clientKey);
            return Encoding.UTF8.GetBytes($"{withoutProof},p={Convert.ToBase64String(proof)}");
        }

        private void VerifyServerFinal(string serverFinal)
        {
            var attributes = Attributes(serverFinal);
            if (attributes.TryGetValue('e', out var error))
            {
                throw Refused(m.Name, $"the broker answered '{error}'.");
            }

            byte[] signature;
            try
            {
                signature = attributes.TryGetValue('v', out var text) ? Convert.FromBase64String(text) : [];
            }
            catch (FormatException)
            {
                signature = [];
            }

            // RFC 5802 §9: a server that cannot prove it knows the salted password is not the one we trust.
            if (!CryptographicOperations.FixedTimeEquals(signature, _expectedServerSignature))
            {
                throw Refused(m.Name, "the broker's server signature does not match: it does not know this user's SCRAM credentials (a wrong server, or a man in the middle).");
            }
        }

        // The one-shot static methods exist on net8.0 too (CryptographicOperations.HmacData is net9+). SHA-1 is only
        // reachable from tests, for RFC 5802's own example; Kafka's mechanisms are SHA-256 and SHA-512.
#pragma warning disable CA5350 // Do not use weak cryptographic algorithms: see above.
        private byte[] Hmac(byte[] key, ReadOnlySpan<byte> data) =>
            m._hash == HashAlgorithmName.SHA512 ? HMACSHA512.HashData(key, data)
            : m._hash == HashAlgorithmName.SHA1 ? HMACSHA1.HashData(key, data)
            : HMACSHA256.HashData(key, data);

        private byte[] Hash(byte[] data) =>
            m._hash == HashAlgorithmName.SHA512 ? SHA512.HashData(data)
            : m._hash == HashAlgorithmName.SHA1 ? SHA1.HashData(data)
            : SHA256.HashData(data);
#pragma warning restore CA5350

        private static int HashLength(HashAlgorithmName hash) =>
            hash == HashAlgorithmName.SHA512 ? 64 : hash == HashAlgorithmName.SHA1 ? 20 : 32;

        private static Dictionary<char, string> Attributes(string message)
        {
            var attributes = new Dictionary<char, string>();
            foreach (var part in message.Split(','))
            {
                if (part.Length >= 2 && part[1] == '=')
                {
                    attributes.TryAdd(part[0], part[2..]);
                }
            }

            return attributes;
        }
    }
}
