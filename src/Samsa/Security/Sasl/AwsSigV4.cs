using System.Security.Cryptography;
using System.Text;

namespace Samsa.Security.Sasl;

/// <summary>
/// The parts of AWS Signature Version 4 that AWS_MSK_IAM needs: the canonical request, the string to sign, the
/// derived signing key and the signature (HMAC-SHA256 and SHA-256 from System.Security.Cryptography, no AWS SDK).
/// Each step is its own method so that tests check it against AWS's published examples.
/// </summary>
internal static class AwsSigV4
{
    public const string Algorithm = "AWS4-HMAC-SHA256";

    /// <summary>SHA-256 of an empty body: a presigned GET signs no payload.</summary>
    public const string EmptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    /// <summary><c>YYYYMMDD'T'HHMMSS'Z'</c>, the <c>X-Amz-Date</c> form.</summary>
    public static string AmzDate(DateTimeOffset time) => time.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The credential scope: <c>date/region/service/aws4_request</c>.</summary>
    public static string Scope(string amzDate, string region, string service) => $"{amzDate[..8]}/{region}/{service}/aws4_request";

    /// <summary>
    /// URI-encodes as SigV4 requires: the RFC 3986 unreserved characters stay, every other UTF-8 byte becomes
    /// <c>%XX</c> in upper-case hex (so a space is <c>%20</c>, never <c>+</c>, and <c>/</c> and <c>:</c> are encoded).
    /// </summary>
    public static string UriEncode(string value)
    {
        var builder = new StringBuilder(value.Length + 16);
        foreach (var b in Encoding.UTF8.GetBytes(value))
        {
            if (b is (>= (byte)'A' and <= (byte)'Z') or (>= (byte)'a' and <= (byte)'z') or (>= (byte)'0' and <= (byte)'9') or (byte)'-' or (byte)'_' or (byte)'.' or (byte)'~')
            {
                builder.Append((char)b);
            }
            else
            {
                builder.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        return builder.ToString();
    }

    /// <summary>The canonical query string: each name and value encoded, sorted by name then value (byte order), joined by <c>&amp;</c>.</summary>
    public static string CanonicalQuery(IEnumerable<KeyValuePair<string, string>> parameters) =>
        string.Join('&', parameters
            .Select(p => (Key: UriEncode(p.Key), Value: UriEncode(p.Value)))
            .OrderBy(p => p.Key, StringComparer.Ordinal)
            .ThenBy(p => p.Value, StringComparer.Ordinal)
            .Select(p => $"{p.Key}={p.Value}"));

    /// <summary>
    /// The canonical request: method, path, canonical query, the signed headers (lower-case names, sorted, each line
    /// <c>name:value</c>), a blank line, the signed header names joined by <c>;</c>, and the payload hash.
    /// </summary>
    public static string CanonicalRequest(string method, string path, string canonicalQuery, IEnumerable<KeyValuePair<string, string>> headers, string payloadHash)
    {
        var sorted = headers.Select(h => (Name: h.Key.ToLowerInvariant(), Value: h.Value.Trim())).OrderBy(h => h.Name, StringComparer.Ordinal).ToList();
        var builder = new StringBuilder();
        builder.Append(method).Append('\n').Append(path).Append('\n').Append(canonicalQuery).Append('\n');
        foreach (var (name, value) in sorted)
        {
            builder.Append(name).Append(':').Append(value).Append('\n');
        }

        builder.Append('\n').Append(string.Join(';', sorted.Select(h => h.Name))).Append('\n').Append(payloadHash);
        return builder.ToString();
    }

    /// <summary>The string to sign: algorithm, date, scope and the hex SHA-256 of the canonical request, one a line.</summary>
    public static string StringToSign(string amzDate, string scope, string canonicalRequest) =>
        $"{Algorithm}\n{amzDate}\n{scope}\n{Hex(SHA256.HashData(Encoding.UTF8.GetBytes(canonicalRequest)))}";

    /// <summary>The derived signing key: HMAC chain over <c>"AWS4" + secret</c>, the date, region, service and <c>aws4_request</c>.</summary>
    public static byte[] SigningKey(string secretAccessKey, string date, string region, string service)
    {
        var secret = Encoding.UTF8.GetBytes("AWS4" + secretAccessKey);
        var key = HMACSHA256.HashData(secret, Encoding.UTF8.GetBytes(date));
        CryptographicOperations.ZeroMemory(secret);
        key = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(region));
        key = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(service));
        return HMACSHA256.HashData(key, "aws4_request"u8);
    }

    /// <summary>The signature: hex HMAC-SHA256 of the string to sign with the signing key.</summary>
    public static string Signature(byte[] signingKey, string stringToSign) => Hex(HMACSHA256.HashData(signingKey, Encoding.UTF8.GetBytes(stringToSign)));

    /// <summary>
    /// Presigns a GET of <c>/</c> on <paramref name="host"/> (SigV4 query signing, as for a presigned URL): the request's
    /// own <paramref name="parameters"/>, then <c>X-Amz-Algorithm</c>, <c>-Credential</c>, <c>-Date</c>, <c>-Expires</c>,
    /// <c>-SignedHeaders</c> (only <c>host</c>) and, for temporary credentials, <c>-Security-Token</c>, all signed, and
    /// last <c>X-Amz-Signature</c>. Returns the parameters with their raw (unencoded) values.
    /// </summary>
    public static List<KeyValuePair<string, string>> Presign(
        string host, string region, string service, AwsCredentials credentials, DateTimeOffset now, int expiresSeconds, IEnumerable<KeyValuePair<string, string>> parameters)
    {
        var amzDate = AmzDate(now);
        var scope = Scope(amzDate, region, service);
        var query = new List<KeyValuePair<string, string>>(parameters)
        {
            new("X-Amz-Algorithm", Algorithm),
            new("X-Amz-Credential", $"{credentials.AccessKeyId}/{scope}"),
            new("X-Amz-Date", amzDate),
            new("X-Amz-Expires", expiresSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            new("X-Amz-SignedHeaders", "host"),
        };
        if (credentials.SessionToken is { Length: > 0 } token)
        {
            // A presigned request carries the token in its query, signed with the rest.
            query.Add(new("X-Amz-Security-Token", token));
        }

        var canonical = CanonicalRequest("GET", "/", CanonicalQuery(query), [new("host", host)], EmptyPayloadHash);
        var key = SigningKey(credentials.SecretAccessKey, amzDate[..8], region, service);
        query.Add(new("X-Amz-Signature", Signature(key, StringToSign(amzDate, scope, canonical))));
        CryptographicOperations.ZeroMemory(key);
        return query;
    }

    public static string Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexString(bytes).ToLowerInvariant();
}
