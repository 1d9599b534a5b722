using Samsa.IntegrationTests.Infrastructure;
using Samsa.Testing;
using Xunit.Abstractions;

namespace Samsa.IntegrationTests.Faults;

/// <summary>Serializes the fault tests: each starts its own cluster, but the machine has 2 cores.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class FaultsCollectionDefinition
{
    public const string Name = "Faults";
}

/// <summary>
/// The fault matrix ("Nothing lost"): each case runs <see cref="FaultScenario"/> with one fault and
/// checks that every acknowledged record is in the log where it was reported, every record missing
/// from the log was reported failed with the case's expected exception, every record got exactly one
/// report, and (idempotence on, the default) no duplicates and send order per partition, in the log read
/// back and, through the oracle, in the log a real broker would hold. The producer reaches the cluster
/// only through a <see cref="Samsa.Testing.Proxy.KafkaProxy"/>, whose faults are rows too.
/// </summary>
[Collection(FaultsCollectionDefinition.Name)]
public sealed class FaultMatrixTests(ITestOutputHelper output)
{
    private static bool IsTimeoutOrNetwork(KafkaException e) => e is KafkaTimeoutException or KafkaNetworkException;

    // 1. One broker down while sending, then up: its partitions wait (delivery.timeout.ms is 8 s) and get through.
    [Fact]
    public Task BrokerDownThenUp() => FaultScenario.RunAsync(new FaultCase("broker-down-up")
    {
        Fault = ctx =>
        {
            ctx.Cluster.SetBrokerDown(2);
            return Task.CompletedTask;
        },
        Heal = async ctx =>
        {
            await Task.Delay(1500);
            ctx.Cluster.SetBrokerUp(2);
        },
    }, output);

    // 1b. The same with idempotence off and one request in flight (order must still hold).
    [Fact]
    public Task BrokerDownThenUpWithoutIdempotence() => FaultScenario.RunAsync(new FaultCase("broker-down-up-noidem")
    {
        Configure = o => o with { EnableIdempotence = false, MaxInFlightRequestsPerConnection = 1 },

        // Without idempotence delivery is at least once: a request that times out on a busy machine and is
        // sent again is stored twice by any broker. Order (one request in flight) is still checked.
        LogCheck = LogCheck.StrictExceptMockDuplicates,
        Fault = ctx =>
        {
            ctx.Cluster.SetBrokerDown(3);
            return Task.CompletedTask;
        },
        Heal = async ctx =>
        {
            await Task.Delay(1500);
            ctx.Cluster.SetBrokerUp(3);
        },
    }, output);

    // 2. Leaders of several partitions move mid-stream: NOT_LEADER_OR_FOLLOWER, metadata refresh, retry.
    [Fact]
    public Task LeaderMovedMidStream() => FaultScenario.RunAsync(new FaultCase("leader-moved")
    {
        Fault = ctx =>
        {
            ctx.Cluster.SetPartitionLeader(ctx.Topic, 0, 2);
            ctx.Cluster.SetPartitionLeader(ctx.Topic, 1, 3);
            ctx.Cluster.SetPartitionLeader(ctx.Topic, 2, 1);
            ctx.Cluster.SetPartitionLeader(ctx.Topic, 4, 1);
            return Task.CompletedTask;
        },
        HealAt = 150,
        Heal = ctx =>
        {
            ctx.Cluster.SetPartitionLeader(ctx.Topic, 0, 3);
            ctx.Cluster.SetPartitionLeader(ctx.Topic, 5, 1);
            return Task.CompletedTask;
        },
    }, output);

    // 3. All brokers down longer than delivery.timeout.ms: records sent meanwhile fail with a timeout
    //    (or network) error; after the brokers are back, new records succeed.
    [Fact]
    public Task AllBrokersDownLongerThanDeliveryTimeoutThenRecovery() => FaultScenario.RunAsync(new FaultCase("all-down")
    {
        Configure = o => o with { DeliveryTimeout = TimeSpan.FromSeconds(4) },
        Fault = ctx =>
        {
            for (var b = 1; b <= FaultScenario.Brokers; b++)
            {
                ctx.Cluster.SetBrokerDown(b);
            }

            return Task.CompletedTask;
        },
        Heal = async ctx =>
        {
            await ctx.WaitForReportsSoFarAsync(TimeSpan.FromSeconds(30));
            for (var b = 1; b <= FaultScenario.Brokers; b++)
            {
                ctx.Cluster.SetBrokerUp(b);
            }
        },
        AllowedFailure = IsTimeoutOrNetwork,
        MustFail = i => i is >= 100 and < 200,
        MustSucceed = i => i >= 200,
    }, output);

    // 4. Retriable Produce errors (all retriable in error-codes.csv and ErrorCodes.IsRetriable): every record gets through.
    [Theory]
    [InlineData((short)6)]  // NOT_LEADER_OR_FOLLOWER
    [InlineData((short)7)]  // REQUEST_TIMED_OUT
    [InlineData((short)19)] // NOT_ENOUGH_REPLICAS
    [InlineData((short)20)] // NOT_ENOUGH_REPLICAS_AFTER_APPEND
    [InlineData((short)13)] // NETWORK_EXCEPTION
    [InlineData((short)5)]  // LEADER_NOT_AVAILABLE
    [InlineData((short)56)] // KAFKA_STORAGE_ERROR
    [InlineData((short)89)] // THROTTLING_QUOTA_EXCEEDED (retriable=true in the table)
    public Task RetriableProduceErrorIsRetried(short code)
    {
        Assert.True(ErrorCodes.IsRetriable((ErrorCode)code), $"{code} should be retriable per error-codes.csv");
        return FaultScenario.RunAsync(new FaultCase($"retriable-{code}")
        {
            Fault = ctx =>
            {
                ctx.Cluster.PushRequestErrors(KafkaApiKey.Produce, code, code, code);
                return Task.CompletedTask;
            },
        }, output);
    }

    // 5. Non-retriable Produce errors: only the batches of the refused request fail, with that code;
    //    CORRUPT_MESSAGE is retriable in the table, so it is pushed more often than retries (2) allows.
    //    MESSAGE_TOO_LARGE fails only a batch of one record: one of several is split and goes again.
    [Theory]
    [InlineData((short)10, 1)] // MESSAGE_TOO_LARGE
    [InlineData((short)87, 1)] // INVALID_RECORD
    [InlineData((short)29, 1)] // TOPIC_AUTHORIZATION_FAILED
    [InlineData((short)43, 1)] // UNSUPPORTED_FOR_MESSAGE_FORMAT
    [InlineData((short)2, 24)] // CORRUPT_MESSAGE (retriable: exhausts retries=2)
    public Task NonRetriableProduceErrorFailsOnlyTheAffectedBatch(short code, int pushes)
    {
        var errorCode = (ErrorCode)code;
        var retriable = ErrorCodes.IsRetriable(errorCode);
        return FaultScenario.RunAsync(new FaultCase($"fatal-{code}")
        {
            Configure = o => o with { Retries = 2 },
            Fault = ctx =>
            {
                ctx.Cluster.PushRequestErrors(KafkaApiKey.Produce, [.. Enumerable.Repeat(code, pushes)]);
                return Task.CompletedTask;
            },
            // A retriable code pushed beyond retries also costs attempts to the batches pipelined behind the refused
            // one; a real broker answers those OUT_OF_ORDER_SEQUENCE_NUMBER while the refused one's sequence is
            // missing (seen: it had a timed-out attempt, so its sequence stayed in doubt), and with retries=2 they
            // can fail with that code (Java bounds these retries by retries too).
            AllowedFailure = e => (e is KafkaBrokerException b && b.ErrorCode == errorCode && b.IsRetriable == retriable)
                                  || (retriable && e.ErrorCode == ErrorCode.OutOfOrderSequenceNumber),
            PauseEvery10 = TimeSpan.FromMilliseconds(20),
            Verify = outcome =>
            {
                var refused = outcome.Oracle.Batches.Where(b => b.ErrorCode == code).ToList();
                Assert.NotEmpty(refused);
                if (errorCode == ErrorCode.MessageTooLarge)
                {
                    var byValue = outcome.Records.ToDictionary(r => r.Value);
                    foreach (var (batch, record) in refused.SelectMany(b => b.Batch.Records.Select(r => (b.Batch, byValue[r.ValueText]))))
                    {
                        Assert.True(
                            batch.RecordCount > 1 ? record.Result is not null : record.Error?.ErrorCode == errorCode,
                            $"#{record.Index} of {batch}: {(record.Result is not null ? "acknowledged" : record.Error?.Message)}");
                    }
                }
                else
                {
                    Assert.Contains(outcome.Failures, e => e.ErrorCode == errorCode);
                }

                Assert.True(outcome.Succeeded >= 100, $"only {outcome.Succeeded} of 300 records succeeded: more than the refused batches failed.");
            },
        }, output);
    }

    // 6. InitProducerId fails twice (COORDINATOR_NOT_AVAILABLE), then succeeds: every record gets through.
    [Fact]
    public Task InitProducerIdFailsThenSucceeds() => FaultScenario.RunAsync(new FaultCase("init-pid")
    {
        Setup = ctx => ctx.Cluster.PushRequestErrors(KafkaApiKey.InitProducerId, 15, 15),
    }, output);

    // 7. One broker answers slower than request.timeout.ms for a while: other brokers' partitions
    //    succeed; the slow broker's either succeed after retries or fail with a timeout.
    [Fact]
    public Task SlowBrokerBeyondRequestTimeout()
    {
        const int slow = 3;
        return FaultScenario.RunAsync(new FaultCase("slow-broker")
        {
            Configure = o => o with { RequestTimeout = TimeSpan.FromSeconds(1), DeliveryTimeout = TimeSpan.FromSeconds(6) },
            Fault = ctx =>
            {
                ctx.Cluster.SetBrokerRoundTripTime(slow, TimeSpan.FromSeconds(3));
                return Task.CompletedTask;
            },
            Heal = async ctx =>
            {
                await Task.Delay(2500);
                ctx.Cluster.SetBrokerRoundTripTime(slow, TimeSpan.Zero);
            },
            AllowedFailure = e => IsTimeoutOrNetwork(e) && e.Partition is { } p && FaultScenario.InitialLeader(p) == slow,
            LogCheck = LogCheck.StrictExceptMockDuplicates,
        }, output);
    }

    // 8. Metadata names no leader for two partitions for a while, then the leaders come back.
    [Fact]
    public Task PartitionWithoutLeaderThenRestored() => FaultScenario.RunAsync(new FaultCase("no-leader")
    {
        // The librdkafka 2.16 mock crashes the process (native, no managed exception) when a Produce v10
        // request reaches the old leader of a partition whose leader is -1: its NOT_LEADER_OR_FOLLOWER answer
        // carries the current leader (KIP-951) and it reads the missing leader. Produce v9 has no such field.
        Setup = ctx => ctx.Cluster.SetApiVersion(KafkaApiKey.Produce, 0, 9),
        Fault = ctx =>
        {
            ctx.Cluster.SetPartitionLeader(ctx.Topic, 0, -1);
            ctx.Cluster.SetPartitionLeader(ctx.Topic, 4, -1);
            return Task.CompletedTask;
        },
        Heal = async ctx =>
        {
            await Task.Delay(1000);
            ctx.Cluster.SetPartitionLeader(ctx.Topic, 0, FaultScenario.InitialLeader(0));
            ctx.Cluster.SetPartitionLeader(ctx.Topic, 4, FaultScenario.InitialLeader(4));
        },
    }, output);

    // 9. The brokers offer only old versions (Produce v3, Metadata v1): everything works.
    [Fact]
    public Task OldApiVersionsOnly() => FaultScenario.RunAsync(new FaultCase("old-versions")
    {
        Setup = ctx =>
        {
            ctx.Cluster.SetApiVersion(KafkaApiKey.Produce, 3, 3);
            ctx.Cluster.SetApiVersion(KafkaApiKey.Metadata, 1, 1);
        },
        Fault = ctx =>
        {
            ctx.Cluster.PushRequestErrors(KafkaApiKey.Produce, 6, 6);
            return Task.CompletedTask;
        },
    }, output);

    // 11. Proxy: the answers to 3 Produce requests are lost (the mock stored them): the producer times out
    //     and resends with the same sequences; the mock stores copies, a real broker would not (oracle).
    [Fact]
    public Task DroppedProduceAnswers() => FaultScenario.RunAsync(new FaultCase("proxy-dropped-answers")
    {
        Fault = ctx =>
        {
            ctx.Proxy.DropResponses(KafkaApiKey.Produce, 3);
            return Task.CompletedTask;
        },
        // The fault hit: a resend of a stored batch, which a real broker would recognise.
        Verify = outcome => Assert.True(outcome.Oracle.Duplicates >= 1, outcome.Oracle.ToString()),
        LogCheck = LogCheck.StrictExceptMockDuplicates,
    }, output);

    // 12. Proxy: the connection of a Produce request closes when the mock has answered it (stored), twice.
    [Fact]
    public Task ConnectionClosedAfterAProduceRequest() => FaultScenario.RunAsync(new FaultCase("proxy-closed")
    {
        Fault = ctx =>
        {
            ctx.Proxy.CloseAfterNextRequest(KafkaApiKey.Produce);
            return Task.CompletedTask;
        },
        Heal = ctx =>
        {
            ctx.Proxy.CloseAfterNextRequest(KafkaApiKey.Produce);
            return Task.CompletedTask;
        },
        Verify = outcome => Assert.True(outcome.Oracle.Duplicates >= 1, outcome.Oracle.ToString()),
        LogCheck = LogCheck.StrictExceptMockDuplicates,
    }, output);

    // 13. Proxy: broker 2 forwards nothing for 2.5 s (> request.timeout.ms 1 s, < delivery.timeout.ms 8 s):
    //     its requests time out and are resent; the stalled ones still reach the mock afterwards.
    [Fact]
    public Task StalledBrokerBeyondRequestTimeout() => FaultScenario.RunAsync(new FaultCase("proxy-stall")
    {
        Fault = ctx =>
        {
            ctx.Proxy.Stall(2, TimeSpan.FromMilliseconds(2500));
            return Task.CompletedTask;
        },
        LogCheck = LogCheck.StrictExceptMockDuplicates,
    }, output);

    // 14. Proxy: 300 ms more on every answer (below request.timeout.ms) between records 100 and 200: batches
    //     of a partition pile up in flight (up to 5) and must still be stored once, in order.
    [Fact]
    public Task AddedLatency() => FaultScenario.RunAsync(new FaultCase("proxy-latency")
    {
        Fault = ctx =>
        {
            ctx.Proxy.SetLatency(-1, TimeSpan.FromMilliseconds(300));
            return Task.CompletedTask;
        },
        Heal = ctx =>
        {
            ctx.Proxy.SetLatency(-1, TimeSpan.Zero);
            return Task.CompletedTask;
        },
    }, output);

    // 10. Metadata says UNKNOWN_TOPIC_OR_PARTITION (the mock would otherwise auto-create): ProduceAsync
    //     fails after max.block.ms with a KafkaTimeoutException naming the topic, and Produce reports it.
    [Fact]
    public async Task UnknownTopicFailsAfterMaxBlockNamingTheTopic()
    {
        ConfluentLoader.EnsureLoaded();
        using var cluster = MockCluster.Start(FaultScenario.Brokers);
        const string topic = "fault-unknown-topic";
        cluster.CreateTopic(topic, 2);
        cluster.SetTopicError(topic, 3);
        var options = FaultScenario.BaseOptions(cluster.BootstrapServers) with { MaxBlock = TimeSpan.FromSeconds(2) };
        var bound = TimeSpan.FromSeconds(20);

        var producer = new ProducerBuilder<string, string>(options).Build();
        try
        {
            var handlerReport = new TaskCompletionSource<DeliveryReport>(TaskCreationOptions.RunContinuationsAsynchronously);
            var reports = 0;
            producer.Produce(new ProducerRecord<string, string>(topic, "k", "handler"), r =>
            {
                Interlocked.Increment(ref reports);
                handlerReport.TrySetResult(r);
            });
            var awaited = producer.ProduceAsync(new ProducerRecord<string, string>(topic, "k", "awaited")).AsTask();

            var error = await Assert.ThrowsAsync<KafkaTimeoutException>(() => awaited.WaitAsync(bound));
            Assert.Contains(topic, error.Message);
            Assert.Equal(topic, error.Topic);

            var report = await handlerReport.Task.WaitAsync(bound);
            Assert.False(report.IsSuccess);
            Assert.IsType<KafkaTimeoutException>(report.Error);
            Assert.Contains(topic, report.Error!.Message);
            await Task.Delay(200);
            Assert.Equal(1, Volatile.Read(ref reports));

            // The topic comes back: new records get through.
            cluster.SetTopicError(topic, 0);
            var ok = await producer.ProduceAsync(new ProducerRecord<string, string>(topic, "k", "later")).AsTask().WaitAsync(bound);
            Assert.Equal(topic, ok.Topic);
        }
        finally
        {
            await producer.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        }
    }
}
