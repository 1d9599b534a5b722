using System.Net;

namespace Samsa.Cluster;

/// <summary>
/// Name lookups for <c>client.dns.lookup</c>, through the operating system's resolver. Tests
/// substitute names of their own.
/// </summary>
internal class HostResolver
{
    public static HostResolver System { get; } = new();

    /// <summary>Every address the name resolves to, in the resolver's order (an IP literal gives itself).</summary>
    public virtual Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken) =>
        Dns.GetHostAddressesAsync(host, cancellationToken);

    /// <summary>
    /// The canonical (reverse-looked-up) name of an address; like Java's <c>InetAddress.getCanonicalHostName</c>,
    /// the address itself when it has none.
    /// </summary>
    public virtual async Task<string> CanonicalNameAsync(IPAddress address, CancellationToken cancellationToken)
    {
        try
        {
            return (await Dns.GetHostEntryAsync(address.ToString(), cancellationToken).ConfigureAwait(false)).HostName;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return address.ToString();
        }
    }
}
