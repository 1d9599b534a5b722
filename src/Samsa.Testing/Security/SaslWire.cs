using Samsa.Testing.Proxy;

namespace Samsa.Testing.Security;

/// <summary>
/// The wire forms the SASL front reads and writes, from Apache Kafka's SaslHandshake*.json,
/// SaslAuthenticate*.json and ApiVersions*.json: just these, by hand, independent of Samsa's generated code.
/// </summary>
internal static class SaslWire
{
    public const short SaslHandshake = 17;
    public const short ApiVersions = 18;
    public const short SaslAuthenticate = 36;

    /// <summary>The mechanism a SaslHandshake request (v0-v1) names.</summary>
    public static string ReadHandshake(ReadOnlySpan<byte> frame)
    {
        var r = WireReader.AtRequestBody(frame, flexibleHeader: false);
        return r.ReadString(compact: false) ?? "";
    }

    /// <summary>The auth_bytes of a SaslAuthenticate request (v0-v1 classic, v2 flexible).</summary>
    public static byte[] ReadAuthenticate(ReadOnlySpan<byte> frame, short version)
    {
        var flexible = version >= 2;
        var r = WireReader.AtRequestBody(frame, flexible);
        return r.ReadBytes(flexible, out _).ToArray();
    }

    /// <summary>A SaslHandshake response (header v0) with its size prefix.</summary>
    public static byte[] HandshakeResponse(int correlationId, short errorCode, IReadOnlyList<string> mechanisms)
    {
        var w = new WireWriter();
        w.Int32(correlationId);
        w.Int16(errorCode);
        w.Int32(mechanisms.Count);
        foreach (var m in mechanisms)
        {
            w.String(m, compact: false);
        }

        return w.Framed();
    }

    /// <summary>A SaslAuthenticate response with its size prefix: header v0 (v0-v1) or v1 (v2, flexible).</summary>
    public static byte[] AuthenticateResponse(int correlationId, short version, short errorCode, string? errorMessage, byte[] authBytes, long sessionLifetimeMs)
    {
        var flexible = version >= 2;
        var w = new WireWriter();
        w.Int32(correlationId);
        w.TagsIf(flexible); // response header v1
        w.Int16(errorCode);
        w.NullableString(errorMessage, flexible);
        w.PrefixedBytes(authBytes, flexible);
        if (version >= 1)
        {
            w.Int64(sessionLifetimeMs);
        }

        w.TagsIf(flexible);

        return w.Framed();
    }

    /// <summary>
    /// The APIs a SASL listener advertises in its ApiVersions answers: SaslHandshake v0-v1, and SaslAuthenticate from v0
    /// to <paramref name="maxAuthenticateVersion"/>.
    /// </summary>
    public static (short Key, short Min, short Max)[] SaslApis(short maxAuthenticateVersion) =>
        [(SaslHandshake, 0, 1), (SaslAuthenticate, 0, maxAuthenticateVersion)];

    /// <summary>An ApiVersions answer with <paramref name="advertised"/> added (replacing the same keys), in key order.</summary>
    public static byte[] AddApis(byte[] frame, short version, (short Key, short Min, short Max)[] advertised)
    {
        var flexible = version >= 3;
        var r = new WireReader(frame.AsSpan(4));
        var correlationId = r.ReadInt32(); // ApiVersions answers always use response header v0
        var errorCode = r.ReadInt16();
        if (errorCode != 0)
        {
            return frame;
        }

        var count = r.ReadArrayLength(flexible);
        var keys = new List<(short Key, short Min, short Max)>();
        for (var i = 0; i < count; i++)
        {
            keys.Add((r.ReadInt16(), r.ReadInt16(), r.ReadInt16()));
            r.SkipTaggedFieldsIf(flexible);
        }

        var rest = frame.AsSpan(4 + r.Position); // throttle time (v1+) and, when flexible, tagged fields
        keys.RemoveAll(k => advertised.Any(a => a.Key == k.Key));
        keys.AddRange(advertised);
        keys.Sort((a, b) => a.Key.CompareTo(b.Key));

        var w = new WireWriter();
        w.Int32(correlationId);
        w.Int16(errorCode);
        w.ArrayLength(keys.Count, flexible);
        foreach (var (key, min, max) in keys)
        {
            w.Int16(key);
            w.Int16(min);
            w.Int16(max);
            w.TagsIf(flexible);
        }

        w.Bytes(rest);
        return w.Framed();
    }
}
