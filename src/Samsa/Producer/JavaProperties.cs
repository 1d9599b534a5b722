using System.Globalization;
using System.Text;

namespace Samsa;

/// <summary>
/// Reads Java <c>.properties</c> text the way <c>java.util.Properties.load</c> does, so that an existing
/// producer.properties file can be passed to <see cref="ProducerOptions.FromProperties"/>.
/// </summary>
/// <remarks>
/// Supported: <c>#</c> and <c>!</c> comment lines; <c>=</c>, <c>:</c> or whitespace between key and value;
/// leading whitespace; a trailing backslash continuing a line (the next line's leading whitespace is
/// dropped); the escapes <c>\t \n \r \f \\ \uXXXX</c>, and a backslash before any other character
/// (such as <c>\=</c>, <c>\:</c>, <c>\ </c> or <c>\#</c>) standing for that character. When a key appears
/// more than once the last value wins; keys keep the order of their first appearance.
/// </remarks>
public static class JavaProperties
{
    /// <summary>
    /// Reads and parses a .properties file. Java reads these files as ISO-8859-1; this reads UTF-8 and falls
    /// back to ISO-8859-1 when the file is not valid UTF-8, so files from either world load as intended.
    /// </summary>
    public static IReadOnlyList<KeyValuePair<string, string>> Load(string path)
    {
        var bytes = File.ReadAllBytes(path);
        string text;
        try
        {
            text = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(bytes);
            if (text.Length > 0 && text[0] == '\uFEFF')
            {
                text = text[1..];
            }
        }
        catch (DecoderFallbackException)
        {
            text = Encoding.Latin1.GetString(bytes);
        }

        return Parse(text);
    }

    /// <summary>Parses .properties text. Throws <see cref="FormatException"/> for a malformed <c>\uXXXX</c> escape.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var result = new List<KeyValuePair<string, string>>();
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        var logical = new StringBuilder();
        var continuing = false;
        var lineNumber = 0;
        var logicalStart = 0;

        foreach (var natural in SplitLines(text))
        {
            lineNumber++;
            var start = SkipWhitespace(natural, 0);
            if (!continuing)
            {
                // Blank and comment lines are recognised only at the start of a logical line, so a
                // backslash at the end of a comment does not continue it, and a continued line that
                // begins with '#' is not a comment.
                if (start == natural.Length || natural[start] is '#' or '!')
                {
                    continue;
                }

                logical.Clear();
                logicalStart = lineNumber;
            }

            var content = natural.AsSpan(start);
            continuing = EndsWithOddBackslashes(content);
            logical.Append(continuing ? content[..^1] : content);
            if (!continuing)
            {
                AddEntry(logical.ToString(), logicalStart, result, index);
            }
        }

        if (continuing)
        {
            // A backslash at the very end of the text continues into nothing.
            AddEntry(logical.ToString(), logicalStart, result, index);
        }

        return result;
    }

    private static IEnumerable<string> SplitLines(string text)
    {
        var start = 0;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c is '\n' or '\r')
            {
                yield return text[start..i];
                if (c == '\r' && i + 1 < text.Length && text[i + 1] == '\n')
                {
                    i++;
                }

                start = i + 1;
            }
        }

        if (start < text.Length)
        {
            yield return text[start..];
        }
    }

    private static bool IsWhitespace(char c) => c is ' ' or '\t' or '\f';

    private static int SkipWhitespace(string s, int i)
    {
        while (i < s.Length && IsWhitespace(s[i]))
        {
            i++;
        }

        return i;
    }

    private static bool EndsWithOddBackslashes(ReadOnlySpan<char> s)
    {
        var count = 0;
        for (var i = s.Length - 1; i >= 0 && s[i] == '\\'; i--)
        {
            count++;
        }

        return count % 2 == 1;
    }

    private static void AddEntry(string line, int lineNumber, List<KeyValuePair<string, string>> result, Dictionary<string, int> index)
    {
        // The key ends at the first unescaped '=', ':' or whitespace. After it come optional
        // whitespace, at most one '=' or ':', and more optional whitespace; the rest is the value.
        var keyEnd = 0;
        var valueStart = line.Length;
        var hasSeparator = false;
        var escaped = false;
        for (; keyEnd < line.Length; keyEnd++)
        {
            var c = line[keyEnd];
            if (!escaped && (c is '=' or ':'))
            {
                valueStart = keyEnd + 1;
                hasSeparator = true;
                break;
            }

            if (!escaped && IsWhitespace(c))
            {
                valueStart = keyEnd + 1;
                break;
            }

            escaped = c == '\\' && !escaped;
        }

        while (valueStart < line.Length)
        {
            var c = line[valueStart];
            if (!IsWhitespace(c))
            {
                if (!hasSeparator && c is '=' or ':')
                {
                    hasSeparator = true;
                }
                else
                {
                    break;
                }
            }

            valueStart++;
        }

        var key = Unescape(line.AsSpan(0, keyEnd), lineNumber);
        var value = Unescape(line.AsSpan(valueStart), lineNumber);
        if (index.TryGetValue(key, out var at))
        {
            result[at] = new KeyValuePair<string, string>(key, value);
        }
        else
        {
            index[key] = result.Count;
            result.Add(new KeyValuePair<string, string>(key, value));
        }
    }

    private static string Unescape(ReadOnlySpan<char> s, int lineNumber)
    {
        if (s.IndexOf('\\') < 0)
        {
            return s.ToString();
        }

        var sb = new StringBuilder(s.Length);
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (c != '\\')
            {
                sb.Append(c);
                continue;
            }

            if (++i == s.Length)
            {
                break; // a lone trailing backslash stands for nothing
            }

            c = s[i];
            switch (c)
            {
                case 't': sb.Append('\t'); break;
                case 'n': sb.Append('\n'); break;
                case 'r': sb.Append('\r'); break;
                case 'f': sb.Append('\f'); break;
                case 'u':
                    if (i + 4 >= s.Length
                        || !ushort.TryParse(s.Slice(i + 1, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var code))
                    {
                        throw new FormatException($"Malformed \\uXXXX escape in .properties text at line {lineNumber}: '\\u' must be followed by four hex digits.");
                    }

                    sb.Append((char)code);
                    i += 4;
                    break;
                default: sb.Append(c); break;
            }
        }

        return sb.ToString();
    }
}
