using System.Globalization;
using System.Text;

namespace Samsa.Security.Sasl;

/// <summary>
/// The one login module of a <c>sasl.jaas.config</c> value:
/// <c>loginModuleClass controlFlag (optionName=optionValue)*;</c>.
/// </summary>
internal sealed class JaasConfig
{
    private JaasConfig(string loginModule, string controlFlag, IReadOnlyDictionary<string, string> options)
    {
        LoginModule = loginModule;
        ControlFlag = controlFlag;
        Options = options;
    }

    /// <summary>The login module's Java class name, e.g. <c>org.apache.kafka.common.security.plain.PlainLoginModule</c>.</summary>
    public string LoginModule { get; }

    /// <summary>required, requisite, sufficient or optional, in lower case (Kafka ignores it for clients).</summary>
    public string ControlFlag { get; }

    /// <summary>The options, by name (case-sensitive, as in Java); a repeated name keeps its last value.</summary>
    public IReadOnlyDictionary<string, string> Options { get; }

    public string? Option(string name) => Options.TryGetValue(name, out var value) ? value : null;

    /// <summary>
    /// Parses the value the way Kafka's <c>JaasConfig</c> tokenizes it: whitespace separates words; a value
    /// may be quoted with <c>"</c> or <c>'</c>, and inside quotes a backslash escapes the next character
    /// (<c>\n</c>, <c>\t</c>, octal <c>\123</c>, or the character itself); <c>//</c>, <c>/* */</c> and a lone
    /// <c>/</c> start comments; the entry ends with <c>;</c>. Kafka clients take exactly one login module.
    /// </summary>
    /// <exception cref="FormatException">The value does not parse. The message never repeats option values,
    /// which are usually secrets.</exception>
    public static JaasConfig Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var tokenizer = new Tokenizer(text);
        var modules = new List<JaasConfig>();
        while (tokenizer.Next() is { } first)
        {
            modules.Add(ParseEntry(tokenizer, first));
        }

        return modules.Count switch
        {
            0 => throw new FormatException("it names no login module; expected 'loginModuleClass controlFlag (optionName=optionValue)*;'"),
            1 => modules[0],
            _ => throw new FormatException($"it has {modules.Count} login modules; a Kafka client takes exactly one"),
        };
    }

    private static JaasConfig ParseEntry(Tokenizer tokenizer, Token first)
    {
        if (first.Kind != TokenKind.Word)
        {
            throw new FormatException($"it starts with '{first.Describe()}' where the login module class name should be");
        }

        var module = first.Text;
        var flagToken = tokenizer.Next();
        if (flagToken is not { Kind: TokenKind.Word } flag)
        {
            throw new FormatException($"the login module '{module}' has no control flag (required, requisite, sufficient or optional)");
        }

        var controlFlag = flag.Text.ToLowerInvariant();
        if (controlFlag is not ("required" or "requisite" or "sufficient" or "optional"))
        {
            throw new FormatException($"'{flag.Text}' is not a login module control flag; expected required, requisite, sufficient or optional");
        }

        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        while (true)
        {
            var token = tokenizer.Next();
            if (token is null)
            {
                throw new FormatException($"the entry for '{module}' is not terminated by ';'");
            }

            if (token.Value.Kind == TokenKind.Semicolon)
            {
                return new JaasConfig(module, controlFlag, options);
            }

            if (token.Value.Kind != TokenKind.Word)
            {
                throw new FormatException($"'{token.Value.Describe()}' stands where an option name should be");
            }

            var key = token.Value.Text;
            if (tokenizer.Next() is not { Kind: TokenKind.Equals })
            {
                throw new FormatException($"option '{key}' has no value; write {key}=\"value\"");
            }

            if (tokenizer.Next() is not { Kind: TokenKind.Word } value)
            {
                throw new FormatException($"option '{key}' has no value; write {key}=\"value\"");
            }

            options[key] = value.Text;
        }
    }

    private enum TokenKind
    {
        Word,
        Equals,
        Semicolon,
    }

    private readonly record struct Token(TokenKind Kind, string Text)
    {
        public string Describe() => Kind switch
        {
            TokenKind.Equals => "=",
            TokenKind.Semicolon => ";",
            _ => Text,
        };
    }

    private sealed class Tokenizer(string text)
    {
        private int _position;

        public Token? Next()
        {
            SkipWhitespaceAndComments();
            if (_position >= text.Length)
            {
                return null;
            }

            var c = text[_position];
            switch (c)
            {
                case ';':
                    _position++;
                    return new Token(TokenKind.Semicolon, ";");
                case '=':
                    _position++;
                    return new Token(TokenKind.Equals, "=");
                case '"' or '\'':
                    return new Token(TokenKind.Word, ReadQuoted(c));
            }

            var start = _position;
            while (_position < text.Length && IsWordChar(text[_position]))
            {
                _position++;
            }

            return new Token(TokenKind.Word, text[start.._position]);
        }

        private static bool IsWordChar(char c) => c > ' ' && c is not (';' or '=' or '"' or '\'' or '/');

        private void SkipWhitespaceAndComments()
        {
            while (_position < text.Length)
            {
                var c = text[_position];
                if (c <= ' ')
                {
                    _position++;
                }
                else if (c == '/' && _position + 1 < text.Length && text[_position + 1] == '*')
                {
                    var end = text.IndexOf("*/", _position + 2, StringComparison.Ordinal);
                    _position = end < 0 ? text.Length : end + 2;
                }
                else if (c == '/')
                {
                    // '//' and, as in Java's tokenizer, a lone '/' comment out the rest of the line.
                    while (_position < text.Length && text[_position] is not ('\n' or '\r'))
                    {
                        _position++;
                    }
                }
                else
                {
                    return;
                }
            }
        }

        private string ReadQuoted(char quote)
        {
            var opened = _position;
            _position++;
            var value = new StringBuilder();
            while (_position < text.Length)
            {
                var c = text[_position++];
                if (c == quote)
                {
                    return value.ToString();
                }

                if (c is '\n' or '\r')
                {
                    break;
                }

                if (c != '\\' || _position >= text.Length)
                {
                    value.Append(c);
                    continue;
                }

                var escaped = text[_position++];
                switch (escaped)
                {
                    case 'a': value.Append('\a'); break;
                    case 'b': value.Append('\b'); break;
                    case 'f': value.Append('\f'); break;
                    case 'n': value.Append('\n'); break;
                    case 'r': value.Append('\r'); break;
                    case 't': value.Append('\t'); break;
                    case 'v': value.Append('\v'); break;
                    case >= '0' and <= '7':
                        // Java's StreamTokenizer: up to three octal digits, three only if the first is 0-3.
                        var octal = escaped - '0';
                        var maxDigits = escaped <= '3' ? 3 : 2;
                        for (var digits = 1; digits < maxDigits && _position < text.Length && text[_position] is >= '0' and <= '7'; digits++)
                        {
                            octal = (octal * 8) + (text[_position++] - '0');
                        }

                        value.Append((char)octal);
                        break;
                    default:
                        value.Append(escaped);
                        break;
                }
            }

            throw new FormatException(string.Create(CultureInfo.InvariantCulture, $"the quoted value opened at character {opened + 1} is not closed on its line"));
        }
    }
}
