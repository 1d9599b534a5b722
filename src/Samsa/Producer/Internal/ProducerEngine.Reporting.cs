namespace Samsa.Producer.Internal;

/// <summary>The reporting loop: each batch's records reported in answer order, then the batch reused.</summary>
internal sealed partial class ProducerEngine
{
    // Reports go through the loop, in order; once it has closed (the producer is disposed), a late
    // answer is reported right here rather than dropped, so its caller is never left waiting.
    private void Report(in Completion completion)
    {
        if (completion.Error is not null)
        {
            // Before the report: a commit that flushes learns of the failure by the time its flush ends.
            Transactions?.OnRecordFailed(completion.Error);
        }

        if (_completions.Writer.TryWrite(completion))
        {
            return;
        }

        ReportingThread.Enter();
        try
        {
            ReportNow(completion);
        }
        finally
        {
            ReportingThread.Exit();
        }
    }

    private async Task CompleteLoopAsync()
    {
        var reader = _completions.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            ReportingThread.Enter();
            try
            {
                while (reader.TryRead(out var completion))
                {
                    ReportNow(completion);
                }
            }
            finally
            {
                ReportingThread.Exit();
            }
        }
    }

    private void ReportNow(in Completion completion)
    {
        var batch = completion.Batch;
        var partition = batch.Partition;

        // Before the callers hear of it: a caller who awaited the record finds its span ended and it counted.
        Telemetry.OnReported(batch, completion.Error, completion.BaseOffset);
        var logAppendTime = completion.LogAppendTimeMs >= 0;
        var deliveries = batch.Deliveries;

        // What the producer knows about whether these records are in the log. An acks=0 batch is
        // reported once written to the socket: nothing says the broker took it.
        var status = completion.Error is null
            ? Options.Acks == Acks.None ? PersistenceStatus.PossiblyPersisted : PersistenceStatus.Persisted
            : batch.MaybeWritten ? PersistenceStatus.PossiblyPersisted : PersistenceStatus.NotPersisted;
        completion.Error?.MarkFor(status);
        for (var i = 0; i < deliveries.Count; i++)
        {
            var delivery = deliveries[i];
            var timestamp = logAppendTime
                ? new Timestamp(completion.LogAppendTimeMs, TimestampType.LogAppendTime)
                : new Timestamp(delivery.TimestampMs, TimestampType.CreateTime);
            var offset = completion.Error is null && completion.BaseOffset >= 0 ? completion.BaseOffset + i : -1;
            var result = new DeliveryResult(partition.Topic, partition.Partition, offset, timestamp) { Status = status };
            _acknowledgements?.OnAcknowledgement(new DeliveryReport(result, completion.Error));
            if (completion.Error is null)
            {
                delivery.Promise?.Succeed(result);
            }
            else
            {
                delivery.Promise?.Fail(completion.Error);
            }

            if (delivery.Handler is { } handler)
            {
                try
                {
                    handler(new DeliveryReport(result, completion.Error));
                }
                catch (Exception e)
                {
                    // A throwing handler must not stop the reports of the records behind it.
                    OnHandlerFailed(e, partition.Topic, partition.Partition);
                }
            }
            else if (delivery.Promise is null && completion.Error is { } error)
            {
                OnUnhandledRecordFailed(error, partition.Topic, partition.Partition);
            }
        }

        partition.Reported(batch);
        Memory.Release(batch.ReservedBytes);
        batch.ReleaseFlushWaiters();
        lock (_batchPool)
        {
            if (_batchPool.Count < _maxPooledBatches)
            {
                batch.Park();
                _batchPool.Push(batch);
                return;
            }
        }

        batch.Dispose();
    }

    private readonly record struct Completion(ProducerBatch Batch, KafkaException? Error, long BaseOffset, long LogAppendTimeMs);
}
