using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;

namespace Samsa.IntegrationTests.Oracle;

/// <summary>
/// A minimal hand-written Produce v7 client, so that tests can send batches no correct producer would
/// (a resend under a new producer id, a sequence gap) and check that the oracle notices.
/// </summary>
internal sealed class RawProducer : IAsyncDisposable
{
    private readonly TcpClient _client;
    private readonly NetworkStream _stream;
    private int _correlationId;

    private RawProducer(TcpClient client)
    {
        _client = client;
        _stream = client.GetStream();
    }

    public static async Task<RawProducer> ConnectAsync(string hostPort)
    {
        var colon = hostPort.LastIndexOf(':');
        var client = new TcpClient { NoDelay = true };
        await client.ConnectAsync(hostPort[..colon], int.Parse(hostPort[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture));
        return new RawProducer(client);
    }

    /// <summary>Sends one uncompressed batch with acks=all and returns the partition's error code.</summary>
    public async Task<short> ProduceAsync(string topic, int partition, long producerId, short epoch, int baseSequence, params string[] values)
    {
        await SendAsync(topic, partition, producerId, epoch, baseSequence, values);

        var size = new byte[4];
        await _stream.ReadExactlyAsync(size).AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        var response = new byte[BinaryPrimitives.ReadInt32BigEndian(size)];
        await _stream.ReadExactlyAsync(response).AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        // correlation id, topics[1], name, partitions[1], index, then the error code.
        var at = 4 + 4 + 2 + Encoding.UTF8.GetByteCount(topic) + 4 + 4;
        return BinaryPrimitives.ReadInt16BigEndian(response.AsSpan(at));
    }

    /// <summary>Sends one uncompressed batch with acks=all without reading the answer.</summary>
    public async Task SendAsync(string topic, int partition, long producerId, short epoch, int baseSequence, params string[] values)
    {
        var batch = Batch(producerId, epoch, baseSequence, values);
        var body = new List<byte>();
        Int16(body, 0); // Produce
        Int16(body, 7);
        Int32(body, ++_correlationId);
        String(body, "raw-producer");
        Int16(body, -1); // transactional id: null
        Int16(body, -1); // acks=all
        Int32(body, 5000);
        Int32(body, 1);
        String(body, topic);
        Int32(body, 1);
        Int32(body, partition);
        Int32(body, batch.Length);
        body.AddRange(batch);

        var frame = new byte[4 + body.Count];
        BinaryPrimitives.WriteInt32BigEndian(frame, body.Count);
        body.CopyTo(frame, 4);
        await _stream.WriteAsync(frame).AsTask().WaitAsync(TimeSpan.FromSeconds(30));
    }

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync();
        _client.Dispose();
    }

    /// <summary>A v2 record batch. Its CRC is left 0: neither the mock nor the oracle checks it.</summary>
    private static byte[] Batch(long producerId, short epoch, int baseSequence, string[] values)
    {
        var records = new List<byte>();
        for (var i = 0; i < values.Length; i++)
        {
            var value = Encoding.UTF8.GetBytes(values[i]);
            var record = new List<byte> { 0 }; // attributes
            VarInt(record, 0); // timestamp delta
            VarInt(record, i); // offset delta
            VarInt(record, -1); // null key
            VarInt(record, value.Length);
            record.AddRange(value);
            VarInt(record, 0); // no headers
            VarInt(records, record.Count);
            records.AddRange(record);
        }

        var batch = new List<byte>();
        Int64(batch, 0); // base offset
        Int32(batch, 49 + records.Count); // length: everything after this field
        Int32(batch, -1); // partition leader epoch
        batch.Add(2); // magic
        Int32(batch, 0); // crc
        Int16(batch, 0); // attributes: no compression, create time
        Int32(batch, values.Length - 1);
        Int64(batch, 0);
        Int64(batch, 0);
        Int64(batch, producerId);
        Int16(batch, epoch);
        Int32(batch, baseSequence);
        Int32(batch, values.Length);
        batch.AddRange(records);
        return [.. batch];
    }

    private static void Int16(List<byte> to, short v) => to.AddRange([(byte)(v >> 8), (byte)v]);

    private static void Int32(List<byte> to, int v) => to.AddRange([(byte)(v >> 24), (byte)(v >> 16), (byte)(v >> 8), (byte)v]);

    private static void Int64(List<byte> to, long v)
    {
        Int32(to, (int)(v >> 32));
        Int32(to, (int)v);
    }

    private static void String(List<byte> to, string s)
    {
        var bytes = Encoding.UTF8.GetBytes(s);
        Int16(to, (short)bytes.Length);
        to.AddRange(bytes);
    }

    private static void VarInt(List<byte> to, int v)
    {
        var zigzag = (uint)((v << 1) ^ (v >> 31));
        while (zigzag >= 0x80)
        {
            to.Add((byte)(zigzag | 0x80));
            zigzag >>= 7;
        }

        to.Add((byte)zigzag);
    }
}
