using Samsa.Network;
using Samsa.Protocol;

namespace Samsa.Producer.Internal;

/// <summary>
/// Encodes a Produce request (v3 and later: record batch v2 only) straight from sealed batches,
/// without building the generated message's object graph. Batches must arrive grouped by
/// topic. Tests decode the output with the generated <c>ProduceRequest</c> reader.
/// </summary>
internal static class ProduceRequestEncoder
{
    public const short LowestVersion = 3;

    private const short FirstFlexibleVersion = 9;

    /// <summary>
    /// Encodes the request into <paramref name="request"/>'s frame, splicing the large batches in rather than copying
    /// them where the request allows it (see <see cref="SplicedFrame"/>).
    /// </summary>
    public static void Write(SplicedFrame request, short version, string clientId, string? transactionalId, short acks, int timeoutMs, IReadOnlyList<ProducerBatch> batches)
    {
        var buffer = request.Frame;
        var flexible = version >= FirstFlexibleVersion;
        RequestFrame.BeginRequest(buffer, ApiKey.Produce, version, headerVersion: flexible ? (short)2 : (short)1, clientId);
        var writer = new KafkaWriter(buffer);

        // transactional_id: null unless the producer is transactional (v12 is v11 on the wire).
        if (flexible)
        {
            writer.WriteCompactString(transactionalId);
        }
        else
        {
            writer.WriteString(transactionalId);
        }

        writer.WriteInt16(acks);
        writer.WriteInt32(timeoutMs);

        WriteLength(writer, CountTopics(batches), flexible);
        var i = 0;
        while (i < batches.Count)
        {
            var topic = batches[i].Partition.Topic;
            var end = i;
            while (end < batches.Count && batches[end].Partition.Topic == topic)
            {
                end++;
            }

            if (flexible)
            {
                writer.WriteCompactString(topic);
            }
            else
            {
                writer.WriteString(topic);
            }

            WriteLength(writer, end - i, flexible);
            for (; i < end; i++)
            {
                var batch = batches[i];
                writer.WriteInt32(batch.Partition.Partition);
                var records = batch.Sealed.Span;
                if (flexible)
                {
                    writer.WriteUnsignedVarInt((uint)records.Length + 1);
                }
                else
                {
                    writer.WriteInt32(records.Length);
                }

                if (!request.TrySplice(batch.Sealed))
                {
                    writer.WriteRaw(records);
                }
                if (flexible)
                {
                    writer.WriteEmptyTaggedFields();
                }
            }

            if (flexible)
            {
                writer.WriteEmptyTaggedFields();
            }
        }

        if (flexible)
        {
            writer.WriteEmptyTaggedFields();
        }

        RequestFrame.EndRequest(buffer, request.PartBytes);
    }

    private static int CountTopics(IReadOnlyList<ProducerBatch> batches)
    {
        var count = 0;
        for (var i = 0; i < batches.Count; i++)
        {
            if (i == 0 || batches[i].Partition.Topic != batches[i - 1].Partition.Topic)
            {
                count++;
            }
        }

        return count;
    }

    private static void WriteLength(KafkaWriter writer, int count, bool flexible)
    {
        if (flexible)
        {
            writer.WriteCompactArrayLength(count);
        }
        else
        {
            writer.WriteArrayLength(count);
        }
    }
}
