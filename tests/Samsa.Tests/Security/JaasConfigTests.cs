using Samsa.Security.Sasl;

namespace Samsa.Tests.Security;

/// <summary><c>sasl.jaas.config</c> parsed as Kafka's <c>JaasConfig</c> tokenizes it.</summary>
public sealed class JaasConfigTests
{
    private const string Plain = "org.apache.kafka.common.security.plain.PlainLoginModule";

    [Fact]
    public void TheUsualPlainLine()
    {
        var jaas = JaasConfig.Parse($"{Plain} required username=\"alice\" password=\"alice-secret\";");
        Assert.Equal(Plain, jaas.LoginModule);
        Assert.Equal("required", jaas.ControlFlag);
        Assert.Equal(new Dictionary<string, string> { ["username"] = "alice", ["password"] = "alice-secret" }, jaas.Options);
    }

    [Fact]
    public void ConfluentCloudStyleWithAnApiKeyAndSpacesAroundEverything()
    {
        var jaas = JaasConfig.Parse($"  {Plain}   REQUIRED\n\tusername = \"ABCDEFGH12345678\"\n\tpassword = 'x+y/z==' ;  ");
        Assert.Equal("required", jaas.ControlFlag);
        Assert.Equal("ABCDEFGH12345678", jaas.Option("username"));
        Assert.Equal("x+y/z==", jaas.Option("password"));
    }

    [Fact]
    public void AzureEventHubsConnectionStringWithSemicolonsAndEqualsInsideQuotes()
    {
        const string ConnectionString = "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=abc+def/ghi=";
        var jaas = JaasConfig.Parse($"{Plain} required username=\"$ConnectionString\" password=\"{ConnectionString}\";");
        Assert.Equal("$ConnectionString", jaas.Option("username"));
        Assert.Equal(ConnectionString, jaas.Option("password"));
    }

    [Theory]
    [InlineData("""p="a\"b";""", "a\"b")]
    [InlineData("""p="back\\slash";""", "back\\slash")]
    [InlineData("""p='single \' quote';""", "single ' quote")]
    [InlineData("""p="tab\tnew\nline";""", "tab\tnew\nline")]
    [InlineData("""p="octal\101\60";""", "octalA0")]
    [InlineData("""p="unknown \q escape";""", "unknown q escape")]
    [InlineData("""p="it's";""", "it's")]
    [InlineData("""p='say "hi"';""", "say \"hi\"")]
    [InlineData("""p=unquoted-value.1;""", "unquoted-value.1")]
    [InlineData("""p="";""", "")]
    public void QuotedValuesAndEscapes(string options, string expected)
    {
        Assert.Equal(expected, JaasConfig.Parse($"{Plain} required {options}").Option("p"));
    }

    [Fact]
    public void CommentsAreSkipped()
    {
        var jaas = JaasConfig.Parse($"/* the PLAIN module */ {Plain} required // next line\n username=\"u\" /* inline */ password=\"p\";");
        Assert.Equal(new Dictionary<string, string> { ["username"] = "u", ["password"] = "p" }, jaas.Options);
    }

    [Fact]
    public void NoOptionsAndTheLastRepeatWins()
    {
        Assert.Empty(JaasConfig.Parse($"{Plain} optional;").Options);
        Assert.Equal("second", JaasConfig.Parse($"{Plain} required a=\"first\" a=\"second\";").Option("a"));
    }

    [Theory]
    [InlineData("", "names no login module")]
    [InlineData("   // only a comment", "names no login module")]
    [InlineData("org.Module", "has no control flag")]
    [InlineData("org.Module mandatory;", "is not a login module control flag")]
    [InlineData("org.Module required username=\"u\"", "not terminated by ';'")]
    [InlineData("org.Module required username;", "option 'username' has no value")]
    [InlineData("org.Module required username=;", "option 'username' has no value")]
    [InlineData("org.Module required =\"x\";", "stands where an option name should be")]
    [InlineData("org.Module required password=\"unterminated;", "is not closed")]
    [InlineData("a.A required; b.B required;", "2 login modules")]
    [InlineData("; org.Module required;", "starts with ';'")]
    public void MalformedValuesSayWhat(string text, string why)
    {
        var e = Assert.Throws<FormatException>(() => JaasConfig.Parse(text));
        Assert.Contains(why, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ErrorsNeverRepeatAValue()
    {
        var e = Assert.Throws<FormatException>(() => JaasConfig.Parse($"{Plain} required username=\"u\" password=\"hunter2-secret"));
        Assert.DoesNotContain("hunter2", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<FormatException>(() => JaasConfig.Parse($"{Plain} required password=\"hunter2-secret\""));
        Assert.DoesNotContain("hunter2", e.Message, StringComparison.Ordinal);
    }
}
