using System.Buffers.Binary;
using System.Text;

namespace Samsa.IntegrationTests.Diagnostics;

/// <summary>A metric decoded from an OTLP <c>MetricsData</c> payload.</summary>
internal sealed record DecodedMetric(string Name, string Unit, bool IsSum, int Temporality, List<DecodedPoint> Points);

/// <summary>One number data point.</summary>
internal sealed record DecodedPoint(Dictionary<string, string> Attributes, double Value, ulong StartTimeUnixNano, ulong TimeUnixNano);

/// <summary>
/// Reads OTLP metrics protobuf with the field numbers of opentelemetry-proto's metrics.proto, common.proto and
/// resource.proto, independently of Samsa's writer: a generic protobuf field walk, then the few messages a push has.
/// </summary>
internal static class OtlpDecoder
{
    public static (string Scope, List<DecodedMetric> Metrics) Decode(byte[] metricsData)
    {
        var metrics = new List<DecodedMetric>();
        var scopeName = "";
        foreach (var resourceMetrics in Fields(metricsData).Where(f => f.Number == 1))
        {
            foreach (var scopeMetrics in Fields(resourceMetrics.Bytes).Where(f => f.Number == 2))
            {
                foreach (var field in Fields(scopeMetrics.Bytes))
                {
                    if (field.Number == 1)
                    {
                        scopeName = Fields(field.Bytes).Where(f => f.Number == 1).Select(f => Encoding.UTF8.GetString(f.Bytes)).Single();
                    }
                    else if (field.Number == 2)
                    {
                        metrics.Add(Metric(field.Bytes));
                    }
                }
            }
        }

        return (scopeName, metrics);
    }

    private static DecodedMetric Metric(byte[] bytes)
    {
        string name = "", unit = "";
        var isSum = false;
        var temporality = 0;
        var points = new List<DecodedPoint>();
        foreach (var field in Fields(bytes))
        {
            switch (field.Number)
            {
                case 1: name = Encoding.UTF8.GetString(field.Bytes); break;
                case 3: unit = Encoding.UTF8.GetString(field.Bytes); break;
                case 5 or 7:
                    isSum = field.Number == 7;
                    foreach (var data in Fields(field.Bytes))
                    {
                        if (data.Number == 1)
                        {
                            points.Add(Point(data.Bytes));
                        }
                        else if (data.Number == 2 && isSum)
                        {
                            temporality = (int)data.Varint;
                        }
                    }

                    break;
            }
        }

        return new DecodedMetric(name, unit, isSum, temporality, points);
    }

    private static DecodedPoint Point(byte[] bytes)
    {
        var attributes = new Dictionary<string, string>();
        double value = double.NaN;
        ulong start = 0, time = 0;
        foreach (var field in Fields(bytes))
        {
            switch (field.Number)
            {
                case 2: start = field.Fixed64; break;
                case 3: time = field.Fixed64; break;
                case 4: value = BitConverter.UInt64BitsToDouble(field.Fixed64); break;
                case 6: value = (long)field.Fixed64; break;
                case 7:
                    var kv = Fields(field.Bytes).ToList();
                    var key = Encoding.UTF8.GetString(kv.Single(f => f.Number == 1).Bytes);
                    var any = Fields(kv.Single(f => f.Number == 2).Bytes).Single(f => f.Number == 1);
                    attributes[key] = Encoding.UTF8.GetString(any.Bytes);
                    break;
            }
        }

        return new DecodedPoint(attributes, value, start, time);
    }

    private readonly record struct Field(int Number, ulong Varint, ulong Fixed64, byte[] Bytes);

    private static IEnumerable<Field> Fields(byte[] message)
    {
        var pos = 0;
        while (pos < message.Length)
        {
            var tag = ReadVarint(message, ref pos);
            var number = (int)(tag >> 3);
            switch ((int)(tag & 7))
            {
                case 0:
                    yield return new Field(number, ReadVarint(message, ref pos), 0, []);
                    break;
                case 1:
                    yield return new Field(number, 0, BinaryPrimitives.ReadUInt64LittleEndian(message.AsSpan(pos, 8)), []);
                    pos += 8;
                    break;
                case 2:
                    var length = (int)ReadVarint(message, ref pos);
                    yield return new Field(number, 0, 0, message.AsSpan(pos, length).ToArray());
                    pos += length;
                    break;
                case 5:
                    pos += 4;
                    break;
                default:
                    throw new FormatException($"Unexpected wire type in tag {tag}.");
            }
        }
    }

    private static ulong ReadVarint(byte[] bytes, ref int pos)
    {
        ulong value = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = bytes[pos++];
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return value;
            }
        }
    }
}
