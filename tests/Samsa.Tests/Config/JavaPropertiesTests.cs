using System.Text;

namespace Samsa.Tests.Config;

public sealed class JavaPropertiesTests
{
    private static Dictionary<string, string> Parse(string text) =>
        JavaProperties.Parse(text).ToDictionary(p => p.Key, p => p.Value);

    [Fact]
    public void SeparatorsEqualsColonWhitespace()
    {
        var p = Parse("a=1\nb:2\nc 3\nd = 4\ne : 5\nf\t\t6\ng = = 7\nh\n");
        Assert.Equal("1", p["a"]);
        Assert.Equal("2", p["b"]);
        Assert.Equal("3", p["c"]);
        Assert.Equal("4", p["d"]);
        Assert.Equal("5", p["e"]);
        Assert.Equal("6", p["f"]);
        Assert.Equal("= 7", p["g"]); // only one separator is consumed
        Assert.Equal("", p["h"]);
    }

    [Fact]
    public void CommentsAndBlankLinesAreSkipped()
    {
        var p = JavaProperties.Parse("# comment\n! also a comment\n   # indented comment\n\n   \nkey=value # not a comment\n");
        var only = Assert.Single(p);
        Assert.Equal("key", only.Key);
        Assert.Equal("value # not a comment", only.Value);
    }

    [Fact]
    public void LeadingWhitespaceIsDroppedTrailingWhitespaceIsKept()
    {
        var p = Parse("   key = value  \n");
        Assert.Equal("value  ", p["key"]);
    }

    [Fact]
    public void ContinuationLinesJoinWithoutTheirLeadingWhitespace()
    {
        var p = Parse("bootstrap.servers=a:1,\\\n    b:2,\\\r\n\tc:3\nnext=x");
        Assert.Equal("a:1,b:2,c:3", p["bootstrap.servers"]);
        Assert.Equal("x", p["next"]);
    }

    [Fact]
    public void EvenBackslashesDoNotContinue()
    {
        var p = Parse("a=x\\\\\nb=y");
        Assert.Equal("x\\", p["a"]);
        Assert.Equal("y", p["b"]);
    }

    [Fact]
    public void CommentEndingInBackslashDoesNotContinueAndContinuedHashIsNotAComment()
    {
        var p = Parse("# comment \\\na=1\\\n#still-a\n");
        Assert.Equal("1#still-a", p["a"]);
        Assert.Single(p);
    }

    [Fact]
    public void EmptyContinuationLineEndsTheValue()
    {
        var p = Parse("a=1\\\n\nb=2");
        Assert.Equal("1", p["a"]);
        Assert.Equal("2", p["b"]);
    }

    [Fact]
    public void Escapes()
    {
        var p = Parse("tab=a\\tb\nnl=a\\nb\ncr=a\\rb\nff=a\\fb\nbs=a\\\\b\nother=\\q\\#\\!\n");
        Assert.Equal("a\tb", p["tab"]);
        Assert.Equal("a\nb", p["nl"]);
        Assert.Equal("a\rb", p["cr"]);
        Assert.Equal("a\fb", p["ff"]);
        Assert.Equal("a\\b", p["bs"]);
        Assert.Equal("q#!", p["other"]);
    }

    [Fact]
    public void EscapedSeparatorsInKey()
    {
        var p = Parse("a\\=b=c\nd\\:e:f\ng\\ h i\n");
        Assert.Equal("c", p["a=b"]);
        Assert.Equal("f", p["d:e"]);
        Assert.Equal("i", p["g h"]);
    }

    [Fact]
    public void UnicodeEscapes()
    {
        var p = Parse("client.id=caf\\u00e9-\\u00C9\n\\u0061bc=key-escaped\n");
        Assert.Equal("café-É", p["client.id"]);
        Assert.Equal("key-escaped", p["abc"]);
    }

    [Theory]
    [InlineData("a=\\u12")]
    [InlineData("a=\\u12g4")]
    [InlineData("a=\\uXYZW")]
    public void MalformedUnicodeEscapeThrows(string text)
    {
        var e = Assert.Throws<FormatException>(() => JavaProperties.Parse(text));
        Assert.Contains("\\uXXXX", e.Message);
    }

    [Fact]
    public void LastDuplicateWinsKeepingFirstPosition()
    {
        var p = JavaProperties.Parse("a=1\nb=2\na=3\n");
        Assert.Equal(["a", "b"], p.Select(x => x.Key));
        Assert.Equal("3", p[0].Value);
    }

    [Fact]
    public void LineEndingsCrLfCrLf()
    {
        var p = Parse("a=1\r\nb=2\rc=3\nd=4");
        Assert.Equal(["1", "2", "3", "4"], new[] { p["a"], p["b"], p["c"], p["d"] });
    }

    [Fact]
    public void TrailingBackslashAtEndOfTextIsDropped()
    {
        Assert.Equal("x", Parse("a=x\\")["a"]);
    }

    [Fact]
    public void LoadReadsUtf8AndFallsBackToLatin1()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "client.id=café\nacks=all\n", new UTF8Encoding(true));
            Assert.Equal("café", JavaProperties.Load(path).Single(p => p.Key == "client.id").Value);

            File.WriteAllBytes(path, Encoding.Latin1.GetBytes("client.id=café\n"));
            Assert.Equal("café", JavaProperties.Load(path).Single().Value);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
