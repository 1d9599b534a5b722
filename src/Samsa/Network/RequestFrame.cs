using System.Buffers.Binary;
using Samsa.Protocol;

namespace Samsa.Network;

/// <summary>
/// Lays out a request on the wire: INT32 size, then the request header, then the body. The size
/// and the correlation id are patched in afterwards, the id by the connection when it sends,
/// so that ids follow the order requests really go out.
/// </summary>
internal static class RequestFrame
{
    public const int CorrelationIdOffset = 8;

    /// <summary>Writes the size placeholder and the request header (v1 or v2).</summary>
    public static void BeginRequest(PooledBufferWriter buffer, ApiKey apiKey, short apiVersion, short headerVersion, string clientId)
    {
        var writer = new KafkaWriter(buffer);
        writer.WriteInt32(0);
        writer.WriteInt16((short)apiKey);
        writer.WriteInt16(apiVersion);
        writer.WriteInt32(0);

        // The header's client id stays a classic nullable STRING even in header v2.
        writer.WriteString(clientId);
        if (headerVersion >= 2)
        {
            writer.WriteEmptyTaggedFields();
        }
    }

    /// <summary>
    /// Patches the size prefix once the body is written; <paramref name="splicedBytes"/> are the request's bytes sent
    /// from elsewhere (<see cref="SplicedFrame"/>), not in the buffer.
    /// </summary>
    public static void EndRequest(PooledBufferWriter buffer, int splicedBytes = 0) =>
        BinaryPrimitives.WriteInt32BigEndian(buffer.WrittenSpanForPatching, buffer.WrittenCount - 4 + splicedBytes);

    /// <summary>
    /// Encodes a whole request built from a generated message. <paramref name="layoutVersion"/> (default: the same as
    /// <paramref name="apiVersion"/>) is the version whose layout the body has: a version that only changed what the
    /// broker does (TxnOffsetCommit v5 is v4 on the wire) is written with the last definition we generate.
    /// </summary>
    public static void Write(PooledBufferWriter buffer, IKafkaRequest request, short apiVersion, string clientId, short layoutVersion = -1)
    {
        layoutVersion = layoutVersion < 0 ? apiVersion : layoutVersion;
        BeginRequest(buffer, request.ApiKey, apiVersion, request.RequestHeaderVersion(layoutVersion), clientId);
        request.Write(new KafkaWriter(buffer), layoutVersion);
        EndRequest(buffer);
    }
}
