using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Configuration;
using Samsa.IntegrationTests.Infrastructure;

namespace Samsa.Extensions.Hosting.Tests;

/// <summary>The OrdersApi sample, whole (its appsettings.json, OpenTelemetry and all), against the mock cluster.</summary>
public sealed class OrdersApiSampleTests(ClusterFixture fixture) : IClassFixture<ClusterFixture>
{
    [Fact]
    public async Task PostingAnOrderPublishesItKeyedByCustomer()
    {
        var topic = fixture.CreateTopic("sample-orders", 3);
        await using var factory = new WebApplicationFactory<Program>().WithWebHostBuilder(web =>
            web.ConfigureAppConfiguration((_, config) => config.AddInMemoryCollection(
            [
                new("Kafka:Producer:bootstrap.servers", fixture.BootstrapServers),
                new("Orders:Topic", topic),
            ])));
        using var client = factory.CreateClient();

        using var response = await client.PostAsync(
            new Uri("/orders", UriKind.Relative),
            new StringContent("""{"id":"o-1","customerId":"c-42","total":12.5}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var accepted = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("o-1", accepted.GetProperty("id").GetString());

        var record = Assert.Single(RecordReader.ReadAll(fixture.BootstrapServers, topic, 1));
        Assert.Equal(accepted.GetProperty("partition").GetInt32(), record.Partition);
        Assert.Equal(accepted.GetProperty("offset").GetInt64(), record.Offset);
        Assert.Equal("c-42", Encoding.UTF8.GetString(record.Key!));
        using var order = JsonDocument.Parse(record.Value);
        Assert.Equal(12.5m, order.RootElement.GetProperty("total").GetDecimal());

        Assert.Equal("Healthy", await client.GetStringAsync(new Uri("/health", UriKind.Relative)));
    }

    [Fact]
    public async Task AnOrderWithoutACustomerIsRefused()
    {
        await using var factory = new WebApplicationFactory<Program>().WithWebHostBuilder(web =>
            web.ConfigureAppConfiguration((_, config) => config.AddInMemoryCollection([new("Kafka:Producer:bootstrap.servers", fixture.BootstrapServers)])));
        using var client = factory.CreateClient();
        using var response = await client.PostAsync(
            new Uri("/orders", UriKind.Relative),
            new StringContent("""{"id":"o-2","customerId":"","total":1}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }
}
