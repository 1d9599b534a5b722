using System.Text.Json;
using System.Text.Json.Serialization;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Samsa;
using Samsa.Serialization;

var builder = WebApplication.CreateSlimBuilder(args);
builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, OrdersJson.Default));

// One producer for the app: settings from appsettings.json (Java keys), values as JSON, a health check.
builder.Services.AddSamsaProducer<string, Order>(builder.Configuration.GetSection("Kafka:Producer"))
    .ConfigureBuilder(b => b.SetValueSerializer(new JsonSerializer<Order>(OrdersJson.Default.Order)))
    .AddHealthCheck();

// ASP.NET Core's traces and metrics and Samsa's (the "Samsa" activity source and meter), to the console: each
// order's "orders send" span is a child of its POST /orders span, and carries the trace on to consumers.
builder.Services.AddOpenTelemetry()
    .WithTracing(t => t.AddAspNetCoreInstrumentation().AddSource(SamsaTelemetry.ActivitySourceName).AddConsoleExporter())
    .WithMetrics(m => m.AddAspNetCoreInstrumentation().AddMeter(SamsaTelemetry.MeterName).AddConsoleExporter());

var app = builder.Build();
var topic = app.Configuration["Orders:Topic"] ?? "orders";

// Publishes the order, keyed by customer so that one customer's orders stay in order, and answers
// once the broker has stored it (acks=all).
app.MapPost("/orders", async (Order order, IProducer<string, Order> producer, CancellationToken cancellationToken) =>
{
    if (string.IsNullOrWhiteSpace(order.CustomerId))
    {
        return Results.BadRequest("customerId is required");
    }

    var stored = await producer.ProduceAsync(new ProducerRecord<string, Order>(topic, order.CustomerId, order), cancellationToken);
    return Results.Accepted(value: new OrderAccepted(order.Id, stored.Partition, stored.Offset));
});

app.MapHealthChecks("/health");
app.Run();

/// <summary>The app's entry point, public so that tests can start it with WebApplicationFactory.</summary>
public partial class Program;

/// <summary>An order as posted and as published.</summary>
internal sealed record Order(string Id, string CustomerId, decimal Total);

/// <summary>Where the order was stored.</summary>
internal sealed record OrderAccepted(string Id, int Partition, long Offset);

[JsonSerializable(typeof(Order))]
[JsonSerializable(typeof(OrderAccepted))]
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
internal sealed partial class OrdersJson : JsonSerializerContext;
