using Samsa;
using TimerWorker;

var builder = Host.CreateApplicationBuilder(args);
builder.Services.AddSamsaProducer<string, string>(builder.Configuration.GetSection("Kafka:Producer"));
builder.Services.AddHostedService<HeartbeatWorker>();
builder.Build().Run();

namespace TimerWorker
{
    /// <summary>
    /// Produces a heartbeat record every <c>Heartbeat:IntervalSeconds</c>. Records go with a delivery
    /// handler, so a slow broker never holds the timer up; the host flushes what is left when it stops.
    /// </summary>
    internal sealed partial class HeartbeatWorker(IProducer<string, string> producer, IConfiguration configuration, ILogger<HeartbeatWorker> logger)
        : BackgroundService
    {
        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            var topic = configuration["Heartbeat:Topic"] ?? "heartbeats";
            var interval = TimeSpan.FromSeconds(configuration.GetValue("Heartbeat:IntervalSeconds", 5));
            using var timer = new PeriodicTimer(interval);
            long sequence = 0;
            try
            {
                do
                {
                    var record = new ProducerRecord<string, string>(topic, Environment.MachineName, $"{{\"seq\":{sequence++},\"at\":\"{DateTimeOffset.UtcNow:O}\"}}");
                    producer.Produce(record, report =>
                    {
                        if (report.IsSuccess)
                        {
                            LogStored(report.Partition, report.Offset);
                        }
                        else
                        {
                            LogFailed(report.Error!);
                        }
                    });
                }
                while (await timer.WaitForNextTickAsync(stoppingToken));
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                // Stopping: the host flushes the producer after every hosted service has stopped.
            }
        }

        [LoggerMessage(Level = LogLevel.Information, Message = "Heartbeat stored in partition {Partition} at offset {Offset}")]
        private partial void LogStored(int partition, long offset);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Heartbeat failed")]
        private partial void LogFailed(Exception error);
    }
}
