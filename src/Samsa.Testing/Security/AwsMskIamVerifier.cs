using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Samsa.Testing.Security;

/// <summary>An identity the <see cref="SaslFront"/> accepts with AWS_MSK_IAM: its secret key, and its session token for temporary credentials.</summary>
internal sealed record AwsIdentity(string SecretAccessKey, string? SessionToken, string Principal);

/// <summary>
/// The broker side of AWS_MSK_IAM, as Amazon MSK checks the client's message: a JSON object whose SigV4 query-signing
/// fields are verified by recomputing the signature of <c>GET /?Action=kafka-cluster:Connect&amp;X-Amz-…</c> on the
/// message's host with the identity's secret key, with the date inside the clock skew and the expiry. Written apart from
/// the client's signer (no shared code), from AWS's SigV4 documentation.
/// </summary>
internal static class AwsMskIamVerifier
{
    private static readonly string[] s_required =
        ["version", "host", "user-agent", "action", "x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signedheaders", "x-amz-expires", "x-amz-signature"];

    // The query parameter names the client signed, from the lower-case JSON field names.
    private static readonly Dictionary<string, string> s_queryNames = new(StringComparer.Ordinal)
    {
        ["action"] = "Action",
        ["x-amz-algorithm"] = "X-Amz-Algorithm",
        ["x-amz-credential"] = "X-Amz-Credential",
        ["x-amz-date"] = "X-Amz-Date",
        ["x-amz-expires"] = "X-Amz-Expires",
        ["x-amz-security-token"] = "X-Amz-Security-Token",
        ["x-amz-signedheaders"] = "X-Amz-SignedHeaders",
    };

    /// <summary>Checks one client message: the principal and the fields, or why it is refused.</summary>
    public static (string? Principal, IReadOnlyDictionary<string, string>? Fields, string? Error) Verify(SaslFront front, byte[] message, DateTimeOffset now)
    {
        Dictionary<string, string> fields;
        try
        {
            using var json = JsonDocument.Parse(message);
            if (json.RootElement.ValueKind != JsonValueKind.Object)
            {
                return (null, null, "Invalid AWS_MSK_IAM message: not a JSON object");
            }

            fields = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var property in json.RootElement.EnumerateObject())
            {
                if (property.Value.ValueKind != JsonValueKind.String)
                {
                    return (null, null, $"Invalid AWS_MSK_IAM message: '{property.Name}' is not a string");
                }

                fields[property.Name] = property.Value.GetString()!;
            }
        }
        catch (JsonException)
        {
            return (null, null, "Invalid AWS_MSK_IAM message: not JSON");
        }

        if (s_required.FirstOrDefault(f => !fields.ContainsKey(f)) is { } missing)
        {
            return (null, fields, $"Invalid AWS_MSK_IAM message: '{missing}' is missing");
        }

        if (fields["version"] != "2020_10_22" || fields["action"] != "kafka-cluster:Connect" || fields["x-amz-algorithm"] != "AWS4-HMAC-SHA256" || fields["x-amz-signedheaders"] != "host")
        {
            return (null, fields, "Invalid AWS_MSK_IAM message: unexpected version, action, algorithm or signed headers");
        }

        var scope = fields["x-amz-credential"].Split('/');
        var amzDate = fields["x-amz-date"];
        if (scope.Length != 5 || scope[4] != "aws4_request" || scope[3] != "kafka-cluster" || amzDate.Length != 16 || scope[1] != amzDate[..8])
        {
            return (null, fields, "Invalid credential scope: expected ACCESS_KEY/DATE/REGION/kafka-cluster/aws4_request for the request's date");
        }

        if (front.ExpectedAwsRegion is { } region && scope[2] != region)
        {
            return (null, fields, $"Credential should be scoped to a valid region, not '{scope[2]}'");
        }

        now += front.AwsClockOffset;
        if (!DateTimeOffset.TryParseExact(amzDate, "yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var signedAt)
            || !int.TryParse(fields["x-amz-expires"], NumberStyles.None, CultureInfo.InvariantCulture, out var expires) || expires is < 1 or > 900)
        {
            return (null, fields, "Invalid x-amz-date or x-amz-expires");
        }

        if (signedAt - now > front.AwsClockSkew)
        {
            return (null, fields, "Signature not yet current: the request is dated in the future");
        }

        if (now > signedAt.AddSeconds(expires))
        {
            return (null, fields, "Signature expired");
        }

        if (front.AwsIdentity(scope[0]) is not { } identity)
        {
            return (null, fields, "The security token included in the request is invalid: unknown access key");
        }

        fields.TryGetValue("x-amz-security-token", out var token);
        if (!string.Equals(identity.SessionToken, token, StringComparison.Ordinal))
        {
            return (null, fields, "The security token included in the request is invalid");
        }

        var query = fields.Where(f => s_queryNames.ContainsKey(f.Key))
            .Select(f => (Name: Encode(s_queryNames[f.Key]), Value: Encode(f.Value)))
            .OrderBy(p => p.Name, StringComparer.Ordinal)
            .Select(p => p.Name + "=" + p.Value);
        var emptyBodyHash = Convert.ToHexString(SHA256.HashData([])).ToLowerInvariant();
        var canonicalRequest = $"GET\n/\n{string.Join('&', query)}\nhost:{fields["host"]}\n\nhost\n{emptyBodyHash}";
        var stringToSign = $"AWS4-HMAC-SHA256\n{amzDate}\n{string.Join('/', scope[1..])}\n{Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(canonicalRequest))).ToLowerInvariant()}";
        var key = Encoding.UTF8.GetBytes("AWS4" + identity.SecretAccessKey);
        foreach (var part in scope[1..])
        {
            key = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(part));
        }

        var expected = Encoding.ASCII.GetBytes(Convert.ToHexString(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(stringToSign))).ToLowerInvariant());
        if (!CryptographicOperations.FixedTimeEquals(expected, Encoding.UTF8.GetBytes(fields["x-amz-signature"])))
        {
            return (null, fields, "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method");
        }

        return (identity.Principal, fields, null);
    }

    // SigV4 URI encoding: unreserved characters as they are, every other UTF-8 byte as %XX.
    private static string Encode(string value)
    {
        var builder = new StringBuilder();
        foreach (var b in Encoding.UTF8.GetBytes(value))
        {
            var c = (char)b;
            builder.Append(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '~' ? c.ToString() : "%" + b.ToString("X2", CultureInfo.InvariantCulture));
        }

        return builder.ToString();
    }
}
