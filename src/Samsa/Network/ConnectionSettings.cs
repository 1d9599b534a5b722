namespace Samsa.Network;

/// <summary>
/// What every connection of one producer shares; <paramref name="Tls"/> is null for PLAINTEXT, <paramref name="Sasl"/>
/// (authenticating each connection after ApiVersions) null without SASL.
/// </summary>
internal sealed record ConnectionSettings(
    string ClientId, TimeSpan ConnectTimeout, TimeSpan RequestTimeout, int SendBufferBytes = -1, int ReceiveBufferBytes = -1, Security.TlsConnector? Tls = null, Security.SaslAuthenticator? Sasl = null);

/// <summary>How Samsa names itself to brokers in ApiVersions v3+ (KIP-511).</summary>
internal static class ClientSoftware
{
    public const string Name = "samsa-dotnet";

    public static string Version { get; } =
        typeof(ClientSoftware).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
}
