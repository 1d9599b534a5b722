using System.Text;

namespace Samsa.ProtocolGen;

/// <summary>Builds indented C# text, four spaces per level, LF line ends.</summary>
internal sealed class CodeWriter
{
    private readonly StringBuilder _text = new();
    private int _indent;
    private bool _afterBlock;

    public void Line(string line = "")
    {
        // A statement that follows a closed block gets a blank line before it, for readability.
        if (_afterBlock && line.Length > 0 && !line.StartsWith('}') && !line.StartsWith("else", StringComparison.Ordinal))
        {
            _text.Append('\n');
        }

        _afterBlock = false;
        if (line.Length > 0)
        {
            _text.Append(' ', _indent * 4);
        }

        _text.Append(line).Append('\n');
    }

    /// <summary>Writes the header line (if any) and an opening brace, then indents.</summary>
    public void Open(string header)
    {
        if (header.Length > 0)
        {
            Line(header);
        }

        Line("{");
        _indent++;
    }

    public void Close(string suffix = "")
    {
        _indent--;
        Line("}" + suffix);
        _afterBlock = true;
    }

    public override string ToString() => _text.ToString();
}
