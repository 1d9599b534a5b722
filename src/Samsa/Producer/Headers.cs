using System.Collections;

namespace Samsa;

/// <summary>One record header. Kafka allows duplicate keys and a null value.</summary>
public readonly record struct Header(string Key, byte[]? Value);

/// <summary>The headers of a record, in the order they were added.</summary>
public sealed class Headers : IReadOnlyList<Header>
{
    private readonly List<Header> _headers = [];

    /// <summary>The number of headers, duplicates included.</summary>
    public int Count => _headers.Count;

    /// <summary>The header at <paramref name="index"/>, in the order they were added.</summary>
    public Header this[int index] => _headers[index];

    /// <summary>Adds a header; a key may appear more than once.</summary>
    public Headers Add(string key, byte[]? value)
    {
        ArgumentNullException.ThrowIfNull(key);
        _headers.Add(new Header(key, value));
        return this;
    }

    /// <summary>Adds a header whose value is the UTF-8 encoding of <paramref name="value"/>.</summary>
    public Headers Add(string key, string? value) =>
        Add(key, value is null ? null : System.Text.Encoding.UTF8.GetBytes(value));

    /// <summary>The value of the last header with this key, as Kafka's Java client does for <c>lastHeader</c>.</summary>
    public bool TryGetLastValue(string key, out byte[]? value)
    {
        for (var i = _headers.Count - 1; i >= 0; i--)
        {
            if (_headers[i].Key == key)
            {
                value = _headers[i].Value;
                return true;
            }
        }

        value = null;
        return false;
    }

    /// <summary>Enumerates the headers in the order they were added, without allocating.</summary>
    public List<Header>.Enumerator GetEnumerator() => _headers.GetEnumerator();

    IEnumerator<Header> IEnumerable<Header>.GetEnumerator() => _headers.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => _headers.GetEnumerator();
}
