// Produces a few purchase events with the settings of a Java client.properties file, as the Kafka
// producer tutorial does: the same file works for a Java producer and for this one.
//
//   dotnet run --project samples/PropertiesProducer -- [client.properties] [topic]
using Samsa;

var path = args.Length > 0 ? args[0] : Path.Combine(AppContext.BaseDirectory, "client.properties");
var topic = args.Length > 1 ? args[1] : "purchases";

IProducer<string, string> producer;
try
{
    // Every key is checked here: an unknown or misspelt key, a bad value, or a consumer key throws a
    // ConfigException that names the key and says what to use instead.
    producer = new ProducerBuilder<string, string>(JavaProperties.Load(path)).Build();
}
catch (ConfigException e)
{
    Console.Error.WriteLine($"{path}: {e.Message}");
    return 2;
}

string[] users = ["eabara", "jsmith", "sgarcia", "jbernard", "htanaka", "awalther"];
string[] items = ["book", "alarm clock", "t-shirts", "gift card", "batteries"];
var failures = 0;

await using (producer)
{
    for (var i = 0; i < 10; i++)
    {
        var user = users[Random.Shared.Next(users.Length)];
        var item = items[Random.Shared.Next(items.Length)];

        // The user is the key: every purchase of one user goes to the same partition, in order.
        producer.Produce(new ProducerRecord<string, string>(topic, user, item), report =>
        {
            if (report.IsSuccess)
            {
                Console.WriteLine($"Produced event to topic {report.Topic}: key = {user,-10} value = {item} (partition {report.Partition}, offset {report.Offset})");
            }
            else
            {
                Interlocked.Increment(ref failures);
                Console.Error.WriteLine($"Failed to produce {user}/{item}: [{report.Error!.ErrorCode}] {report.Error.Message} ({report.Status})");
            }
        });
    }

    // Waits for the ten records; disposing would flush them too (up to the close timeout).
    await producer.FlushAsync();
}

Console.WriteLine($"10 events were produced to topic {topic}, {failures} failed.");
return failures == 0 ? 0 : 1;
