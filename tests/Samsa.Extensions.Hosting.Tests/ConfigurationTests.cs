using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using static Samsa.Extensions.Hosting.Tests.HostHelpers;

namespace Samsa.Extensions.Hosting.Tests;

/// <summary>Reading a configuration section into producer settings, and failing the host's start as Build() would.</summary>
public sealed class ConfigurationTests
{
    [Fact]
    public void JavaKeysAndTypedNamesBindFromJson()
    {
        var json = """
        {
          "Kafka": {
            "Producer": {
              "bootstrap.servers": "b1:9092, b2:9092",
              "LingerMs": "7",
              "acks": "1",
              "EnableIdempotence": "false",
              "CompressionType": "lz4",
              "compression.lz4.level": "12",
              "MaxInFlightRequestsPerConnection": "3",
              "client.id": "orders-api"
            }
          }
        }
        """;
        var options = Bind(json);

        Assert.Equal(["b1:9092", "b2:9092"], options.BootstrapServers);
        Assert.Equal(TimeSpan.FromMilliseconds(7), options.Linger);
        Assert.Equal(Acks.Leader, options.Acks);
        Assert.False(options.EnableIdempotence);
        Assert.Equal(CompressionType.Lz4, options.CompressionType);
        Assert.Equal(12, options.CompressionLevel);
        Assert.Equal(3, options.MaxInFlightRequestsPerConnection);
        Assert.Equal("orders-api", options.ClientId);
    }

    [Fact]
    public void ProducerOptionsPropertyNamesBindWithTimeSpanValues()
    {
        var json = """
        {
          "Kafka": {
            "Producer": {
              "BootstrapServers": "b1:9092",
              "Linger": "00:00:00.007",
              "MaxBlock": "00:00:45",
              "RequestTimeout": "00:00:20",
              "DeliveryTimeout": "00:02:30",
              "TransactionTimeout": "00:00:30",
              "ConnectionsMaxIdle": "-00:00:00.001",
              "InjectTraceHeaders": "false",
              "RootSpans": "true"
            }
          }
        }
        """;
        var options = Bind(json);

        Assert.Equal(TimeSpan.FromMilliseconds(7), options.Linger);
        Assert.Equal(TimeSpan.FromSeconds(45), options.MaxBlock);
        Assert.Equal(TimeSpan.FromSeconds(20), options.RequestTimeout);
        Assert.Equal(TimeSpan.FromSeconds(150), options.DeliveryTimeout);
        Assert.Equal(TimeSpan.FromSeconds(30), options.TransactionTimeout);
        Assert.Equal(TimeSpan.FromMilliseconds(-1), options.ConnectionsMaxIdle);
        Assert.False(options.InjectTraceHeaders);
        Assert.True(options.RootSpans);
    }

    public static TheoryData<string> TimeSpanProperties => [.. typeof(ProducerOptions).GetProperties()
        .Where(p => p.PropertyType == typeof(TimeSpan))
        .Select(p => p.Name)];

    [Theory]
    [MemberData(nameof(TimeSpanProperties))]
    public void EveryTimeSpanPropertyOfProducerOptionsBindsByItsName(string property)
    {
        // Within every such option's range (delivery.timeout.ms at least linger.ms + request.timeout.ms, ...).
        var options = Bind(ProducerJson(("bootstrap.servers", "b1:9092"), (property, "00:01:01.234")));
        Assert.Equal(TimeSpan.FromMilliseconds(61_234), typeof(ProducerOptions).GetProperty(property)!.GetValue(options));
    }

    // The sub-records (Tls, Sasl) are sections, which the flat keys replace (see ANestedSectionFailsTheStartNamingIt).
    public static TheoryData<string> FlatProperties => [.. typeof(ProducerOptions).GetProperties()
        .Where(p => p.CanWrite && p.PropertyType != typeof(TlsOptions) && p.PropertyType != typeof(SaslOptions))
        .Select(p => p.Name)];

    [Theory]
    [MemberData(nameof(FlatProperties))]
    public void EveryPropertyOfProducerOptionsIsAcceptedByItsName(string property)
    {
        // Only the name is checked here: a value of the wrong kind may fail, but never as an unknown key.
        var value = typeof(ProducerOptions).GetProperty(property)!.PropertyType == typeof(TimeSpan) ? "00:00:01" : "1";
        var settings = new SamsaProducerOptions();
        ConfigurationBinding.Bind(Builder(ProducerJson((property, value))).Configuration.GetSection("Kafka:Producer"), settings);

        var error = Record.Exception(settings.ToProducerOptions);
        Assert.False(error is ConfigException e && e.Message.StartsWith("Unknown producer config key", StringComparison.Ordinal), error?.Message);
        Assert.IsNotType<InvalidOperationException>(error);
    }

    [Theory]
    [InlineData("5")]            // a bare number would be five days to TimeSpan.Parse
    [InlineData("soon")]
    [InlineData("00:00:00.0005")] // half a millisecond: the Java key takes whole ones
    public async Task ATimeSpanNameRefusesAnythingButAWholeMillisecondTimeSpan(string value)
    {
        var builder = Builder(ProducerJson(("bootstrap.servers", "b1:9092"), ("Linger", value)));
        builder.Services.AddSamsaProducer<string, string>(builder.Configuration.GetSection("Kafka:Producer"));
        using var host = builder.Build();

        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains("'Kafka:Producer:Linger' is a TimeSpan, written as \"00:00:00.005\"", e.Message, StringComparison.Ordinal);
        Assert.Contains("use 'linger.ms' or 'LingerMs'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ThePropertyNameWinsOverTheJavaKeyAsTheOtherTypedNameDoes()
    {
        var builder = Builder(ProducerJson(("bootstrap.servers", "b1:9092"), ("linger.ms", "5")));
        builder.Configuration.AddInMemoryCollection([new("Kafka:Producer:Linger", "00:00:00.006")]);
        builder.Services.AddSamsaProducer<string, string>(builder.Configuration.GetSection("Kafka:Producer"));
        using var host = builder.Build();
        var options = host.Services.GetRequiredService<IOptionsMonitor<SamsaProducerOptions>>().Get(Options.DefaultName).ToProducerOptions();
        Assert.Equal(TimeSpan.FromMilliseconds(6), options.Linger);
    }

    [Fact]
    public void AJsonArrayIsAList()
    {
        var options = Bind("""{ "Kafka": { "Producer": { "BootstrapServers": [ "b1:9092", "b2:9092", "b3:9092" ] } } }""");
        Assert.Equal(["b1:9092", "b2:9092", "b3:9092"], options.BootstrapServers);
    }

    [Fact]
    public void CodeChangesApplyAfterTheSection()
    {
        var builder = Builder(ProducerJson(("bootstrap.servers", "b1:9092"), ("linger.ms", "7")));
        builder.Services.AddSamsaProducer<string, string>(builder.Configuration.GetSection("Kafka:Producer"))
            .Configure(o => o.Update(p => p with { BatchSize = 1234 }));
        using var host = builder.Build();
        var options = host.Services.GetRequiredService<IOptionsMonitor<SamsaProducerOptions>>().Get(Options.DefaultName).ToProducerOptions();
        Assert.Equal(1234, options.BatchSize);
        Assert.Equal(TimeSpan.FromMilliseconds(7), options.Linger);
    }

    [Theory]
    [InlineData("LingerMs", "linger.ms")]
    [InlineData("BootstrapServers", "bootstrap.servers")]
    [InlineData("MaxInFlightRequestsPerConnection", "max.in.flight.requests.per.connection")]
    [InlineData("CompressionLz4Level", "compression.lz4.level")]
    [InlineData("SslTruststoreLocation", "ssl.truststore.location")]
    [InlineData("linger.ms", "linger.ms")]
    [InlineData("acks", "acks")]
    public void TypedNamesAreTheJavaKeyInPascalCase(string configured, string javaKey) =>
        Assert.Equal(javaKey, ConfigurationBinding.ToJavaKey(configured));

    [Theory]
    [InlineData("linger.ms", "soon")]        // does not parse: FromProperties
    [InlineData("LingerMs", "-1")]           // out of range: Validate, through a typed name
    [InlineData("lingr.ms", "5")]            // unknown, with a suggestion
    [InlineData("enable.idempotence", "maybe")]
    [InlineData("group.id", "g")]            // a consumer key
    public async Task ABadSettingFailsTheStartWithBuildsMessage(string key, string value)
    {
        var javaKey = ConfigurationBinding.ToJavaKey(key);
        var expected = Assert.Throws<ConfigException>(() => new ProducerBuilder<string, string>(
            new Dictionary<string, string> { ["bootstrap.servers"] = "b1:9092", [javaKey] = value }).Build()).Message;

        var builder = Builder(ProducerJson(("bootstrap.servers", "b1:9092"), (key, value)));
        builder.Services.AddSamsaProducer<string, string>(builder.Configuration.GetSection("Kafka:Producer"));
        using var host = builder.Build();

        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.Contains($"configuration key 'Kafka:Producer:{key}'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AMissingBootstrapServerFailsTheStart()
    {
        var expected = Assert.Throws<ConfigException>(() => new ProducerBuilder<string, string>(new Dictionary<string, string>()).Build()).Message;
        var builder = Builder(ProducerJson(("linger.ms", "5")));
        builder.Services.AddSamsaProducer<string, string>(builder.Configuration.GetSection("Kafka:Producer"));
        using var host = builder.Build();

        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("linger.ms", "LingerMs")]
    [InlineData("LingerMs", "linger.ms")]
    public void WhenAKeyIsGivenBothWaysTheTypedNameWins(string inJson, string inLaterSource)
    {
        // The usual case: appsettings.json has the Java key, an environment variable (no dots) the typed name.
        var builder = Builder(ProducerJson(("bootstrap.servers", "b1:9092"), (inJson, inJson == "LingerMs" ? "6" : "5")));
        builder.Configuration.AddInMemoryCollection([new($"Kafka:Producer:{inLaterSource}", inLaterSource == "LingerMs" ? "6" : "5")]);
        builder.Services.AddSamsaProducer<string, string>(builder.Configuration.GetSection("Kafka:Producer"));
        using var host = builder.Build();
        var options = host.Services.GetRequiredService<IOptionsMonitor<SamsaProducerOptions>>().Get(Options.DefaultName).ToProducerOptions();
        Assert.Equal(TimeSpan.FromMilliseconds(6), options.Linger);
    }

    [Fact]
    public async Task ANestedSectionFailsTheStartNamingIt()
    {
        var builder = Builder("""{ "Kafka": { "Producer": { "bootstrap.servers": "b1:9092", "Tls": { "TruststoreLocation": "/ca.pem" } } } }""");
        builder.Services.AddSamsaProducer<string, string>(builder.Configuration.GetSection("Kafka:Producer"));
        using var host = builder.Build();

        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains("'Kafka:Producer:Tls' is a section", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ATypeWithoutASerializerFailsTheStartWithBuildsMessage()
    {
        var expected = Assert.Throws<ConfigException>(() => new ProducerBuilder<string, Order>(new ProducerOptions { BootstrapServers = ["b1:9092"] }).Build()).Message;
        var builder = Builder(ProducerJson(("bootstrap.servers", "b1:9092")));
        builder.Services.AddSamsaProducer<string, Order>(builder.Configuration.GetSection("Kafka:Producer"));
        using var host = builder.Build();

        var e = await Assert.ThrowsAsync<ConfigException>(() => host.StartAsync());
        Assert.Equal(expected, e.Message);
    }

    [Fact]
    public void ASecondRegistrationUnderOneNameIsRefused()
    {
        var services = new ServiceCollection();
        services.AddSamsaProducer<string, string>(o => o.Properties["bootstrap.servers"] = "b1:9092");
        var e = Assert.Throws<InvalidOperationException>(() => services.AddSamsaProducer<string, byte[]>(o => o.Properties["bootstrap.servers"] = "b1:9092"));
        Assert.Contains("(default) is already registered (IProducer<String, String>)", e.Message, StringComparison.Ordinal);
    }

    private static ProducerOptions Bind(string json)
    {
        var builder = Builder(json);
        builder.Services.AddSamsaProducer<string, string>(builder.Configuration.GetSection("Kafka:Producer"));
        using var host = builder.Build();
        return host.Services.GetRequiredService<IOptionsMonitor<SamsaProducerOptions>>().Get(Options.DefaultName).ToProducerOptions();
    }

    internal sealed record Order(string Id);
}
