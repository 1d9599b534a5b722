using System.Globalization;

namespace Samsa.Network;

/// <summary>A broker's node id and where to reach it. Bootstrap servers have no id yet (-1).</summary>
internal readonly record struct BrokerAddress(int NodeId, string Host, int Port)
{
    /// <summary>Parses "host:port" or "[ipv6]:port", as given in <c>bootstrap.servers</c>.</summary>
    public static BrokerAddress Parse(string hostAndPort)
    {
        var colon = hostAndPort.LastIndexOf(':');
        var host = hostAndPort[..colon].Trim('[', ']');
        return new BrokerAddress(-1, host, int.Parse(hostAndPort[(colon + 1)..], CultureInfo.InvariantCulture));
    }

    public override string ToString() =>
        NodeId >= 0 ? $"{Host}:{Port} (id {NodeId})" : $"{Host}:{Port}";
}
