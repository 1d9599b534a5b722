using System.Buffers;
using System.Text.Json;

namespace Samsa.Security.Sasl;

/// <summary>
/// AWS_MSK_IAM, Amazon MSK's IAM access control (the mechanism of AWS's <c>aws-msk-iam-auth</c> Java library): the
/// client's one message is a JSON object holding a SigV4 presigned GET of <c>/?Action=kafka-cluster:Connect</c> on the
/// broker's host name (service <c>kafka-cluster</c>, valid 900 s, only <c>host</c> signed); the broker checks it with IAM
/// and answers with a JSON object (<c>version</c>, <c>request-id</c>), or fails the exchange.
/// </summary>
internal sealed class AwsMskIamMechanism : ISaslMechanism
{
    public const string Version = "2020_10_22";
    public const string Service = "kafka-cluster";
    public const string Action = "kafka-cluster:Connect";
    public const int ExpirySeconds = 900;

    private static readonly string s_userAgent = "samsa/" + (typeof(AwsMskIamMechanism).Assembly.GetName().Version?.ToString(3) ?? "0");

    private readonly Func<CancellationToken, ValueTask<AwsCredentials>> _credentials;
    private readonly AwsCredentialSources _sources;
    private readonly string? _region;
    private readonly TimeProvider _time;

    /// <param name="credentials">The builder's provider, or null for the environment and profile files.</param>
    /// <param name="sources">Where the environment's credentials and region come from.</param>
    /// <param name="region">The configured region (SaslOptions.AwsRegion), or null to take it from the host name or the environment.</param>
    /// <param name="time">The clock (tests).</param>
    public AwsMskIamMechanism(Func<CancellationToken, ValueTask<AwsCredentials>>? credentials, AwsCredentialSources sources, string? region, TimeProvider? time = null)
    {
        _sources = sources;
        _credentials = credentials ?? (_ => new ValueTask<AwsCredentials>(sources.Resolve()));
        _region = region;
        _time = time ?? TimeProvider.System;
    }

    public string Name => "AWS_MSK_IAM";

    public async ValueTask<ISaslExchange> BeginAsync(string host, TimeSpan minimumValidity, CancellationToken cancellationToken)
    {
        var credentials = await _credentials(cancellationToken).ConfigureAwait(false);
        if (credentials is null || string.IsNullOrEmpty(credentials.AccessKeyId) || string.IsNullOrEmpty(credentials.SecretAccessKey))
        {
            throw new KafkaAuthenticationException("The AWS credentials provider returned no access key id or secret access key for SASL AWS_MSK_IAM.");
        }

        var region = _region ?? RegionOfHost(host) ?? _sources.Region() ?? throw new KafkaAuthenticationException(
            $"SASL AWS_MSK_IAM needs the AWS region to sign for, and the broker host '{host}' does not name one: set AWS_REGION (or SaslOptions.AwsRegion, or region in the AWS profile).");
        return new Exchange(Payload(host, region, credentials, _time.GetUtcNow(), s_userAgent));
    }

    /// <summary>
    /// The region in a broker host name: the first label shaped like one, as in
    /// <c>b-1.cluster.abc123.c2.kafka.eu-west-1.amazonaws.com</c> or <c>boot-x.c1.kafka-serverless.us-east-1.amazonaws.com</c>
    /// (the Java library likewise looks for a region name inside the host).
    /// </summary>
    internal static string? RegionOfHost(string host)
    {
        foreach (var label in host.ToLowerInvariant().Split('.'))
        {
            // area(-gov|-iso…)?-direction-digit(s): us-east-1, eu-central-2, us-gov-west-1, cn-north-1, ap-southeast-4.
            var parts = label.Split('-');
            if (parts.Length is 3 or 4 && parts[0].Length == 2 && parts[0].All(char.IsAsciiLetterLower)
                && parts[^1].Length is 1 or 2 && parts[^1].All(char.IsAsciiDigit)
                && parts[1..^1].All(p => p.Length >= 2 && p.All(char.IsAsciiLetterLower)))
            {
                return label;
            }
        }

        return null;
    }

    /// <summary>The client's message: the signed query parameters with lower-case names, plus version, host and user agent.</summary>
    internal static byte[] Payload(string host, string region, AwsCredentials credentials, DateTimeOffset now, string userAgent)
    {
        var query = AwsSigV4.Presign(host, region, Service, credentials, now, ExpirySeconds, [new("Action", Action)]);
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("version", Version);
            json.WriteString("host", host);
            json.WriteString("user-agent", userAgent);
            foreach (var (name, value) in query)
            {
                json.WriteString(name.ToLowerInvariant(), value);
            }

            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private sealed class Exchange(byte[] payload) : ISaslExchange
    {
        private bool _started;

        public string? ServerError => null;

        public byte[] Start()
        {
            _started = true;
            return payload;
        }

        public byte[]? Respond(ReadOnlySpan<byte> challenge)
        {
            // The broker's success answer is a JSON object (version, request-id); an empty or other answer is not MSK's.
            if (!_started || challenge.IsEmpty)
            {
                throw new KafkaAuthenticationException("SASL AWS_MSK_IAM authentication failed: the broker sent an empty answer where MSK sends its JSON response.");
            }

            try
            {
                using var document = JsonDocument.Parse(challenge.ToArray());
                if (document.RootElement.ValueKind != JsonValueKind.Object)
                {
                    throw new JsonException("not an object");
                }
            }
            catch (JsonException)
            {
                throw new KafkaAuthenticationException($"SASL AWS_MSK_IAM authentication failed: the broker's answer is not MSK's JSON response ({challenge.Length} bytes).");
            }

            return null;
        }
    }
}
