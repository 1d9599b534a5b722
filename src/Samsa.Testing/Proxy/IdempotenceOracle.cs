using System.Text;

namespace Samsa.Testing.Proxy;

/// <summary>
/// Tells what a real Kafka broker would have stored, given the batches a producer sent and what the test
/// broker answered. librdkafka's mock cluster neither de-duplicates nor checks sequence numbers for a
/// non-transactional idempotent producer (TESTING.md), so a resend with a new producer id, a gap or a
/// reordering goes unnoticed there; the oracle applies the broker's rules itself.
/// </summary>
/// <remarks>
/// <para>The rules follow Kafka's <c>ProducerStateManager</c>/<c>ProducerAppendInfo</c>, per partition and
/// producer id: a batch equal (epoch, first and last sequence) to one of the last 5 stored batches is a
/// duplicate; an older epoch is fenced; a newer epoch must start at sequence 0; within the epoch the base
/// sequence must follow the last one (wrapping from int.MaxValue to 0); a producer id without state must
/// start at 0. Batches without a producer id (-1) are always stored.</para>
/// <para>A batch is judged when the test broker's answer for its partition arrives, in answer order, which
/// for one connection is the order the broker appended them. Only batches the test broker stored (error 0)
/// change the state: what it refused, a real broker would have refused too.</para>
/// <para>Thread-safe: the proxy feeds it from every connection.</para>
/// </remarks>
public sealed class IdempotenceOracle
{
    /// <summary>Kafka keeps the metadata of this many recent batches per producer for de-duplication.</summary>
    private const int DuplicateWindow = 5;

    private readonly Lock _gate = new();
    private readonly Dictionary<(TopicPartition, long), ProducerState> _producers = [];
    private readonly Dictionary<TopicPartition, List<StoredRecord>> _stored = [];
    private readonly List<JudgedBatch> _batches = [];

    /// <summary>
    /// Judges one batch the test broker answered with <paramref name="errorCode"/> for its partition, and,
    /// when a real broker would have stored it, adds it to the partition's log. Public so that tests can feed
    /// synthetic batches; the proxy calls it for every answered Produce partition.
    /// </summary>
    /// <param name="batch">The batch as the producer sent it.</param>
    /// <param name="errorCode">The test broker's answer for its partition.</param>
    /// <param name="brokerId">The broker it went to.</param>
    /// <param name="correct">The caller answers the producer with the error a real broker would give
    /// (<see cref="JudgedBatch.CorrectedTo"/>) when the test broker stored a batch a real one would reject.</param>
    /// <param name="testBrokerOffset">The base offset the test broker answered (-1: unknown).</param>
    public JudgedBatch Apply(ProducedBatch batch, short errorCode = 0, int brokerId = 0, bool correct = false, long testBrokerOffset = -1)
    {
        ArgumentNullException.ThrowIfNull(batch);
        lock (_gate)
        {
            var (verdict, reason) = errorCode != 0 ? (BatchVerdict.BrokerError, $"error code {errorCode}") : Judge(batch);
            if (verdict == BatchVerdict.Appended)
            {
                Append(batch);
            }

            var judged = new JudgedBatch(batch, brokerId, errorCode, verdict, reason)
            {
                CorrectedTo = correct ? JudgedBatch.RealBrokerError(verdict) : (short)0,
                TestBrokerOffset = errorCode == 0 ? testBrokerOffset : -1,
            };
            _batches.Add(judged);
            return judged;
        }
    }

    /// <summary>Records a batch whose answer never came back (its connection closed first).</summary>
    internal void Unanswered(ProducedBatch batch, int brokerId)
    {
        lock (_gate)
        {
            _batches.Add(new JudgedBatch(batch, brokerId, -1, BatchVerdict.Unanswered, "connection closed before the answer"));
        }
    }

    /// <summary>A snapshot of every verdict and of the log a real broker would hold.</summary>
    public OracleReport Report()
    {
        lock (_gate)
        {
            var stored = _stored.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<StoredRecord>)[.. kv.Value]);
            return new OracleReport([.. _batches], stored);
        }
    }

    /// <summary>
    /// Lists what contradicts "a real broker would have stored every acknowledged record exactly once, in
    /// order": an acknowledged record missing from (or repeated in) the real broker's log of its partition,
    /// acknowledged records of a partition out of the order given, and every batch the test broker stored but
    /// a real broker would have rejected. Records are matched by value, so values must be unique per
    /// partition, and batches uncompressed or gzip. Empty when all is well.
    /// </summary>
    /// <param name="acknowledged">The records the producer acknowledged, per partition in send order.</param>
    public IReadOnlyList<string> Check(IEnumerable<AcknowledgedRecord> acknowledged)
    {
        ArgumentNullException.ThrowIfNull(acknowledged);
        var report = Report();
        var problems = new List<string>();
        problems.AddRange(report.Batches.Where(b => b.IsViolation)
            .Select(b => $"{b}: the test broker stored it, a real broker would have rejected it."));

        foreach (var group in acknowledged.GroupBy(a => new TopicPartition(a.Topic, a.Partition)))
        {
            var log = report.StoredRecords.TryGetValue(group.Key, out var l) ? l : [];
            var positions = new Dictionary<string, List<int>>(StringComparer.Ordinal);
            for (var i = 0; i < log.Count; i++)
            {
                var key = ValueKey(log[i].Value);
                if (!positions.TryGetValue(key, out var list))
                {
                    positions[key] = list = [];
                }

                list.Add(i);
            }

            var previous = (Position: -1, Text: "");
            foreach (var ack in group)
            {
                var text = ack.Value is null ? "<null>" : Encoding.UTF8.GetString(ack.Value);
                if (!positions.TryGetValue(ValueKey(ack.Value), out var at))
                {
                    problems.Add($"{group.Key}: acknowledged '{text}' would not be in a real broker's log{Explain(report, group.Key, ack.Value)}.");
                    continue;
                }

                if (at.Count > 1)
                {
                    problems.Add($"{group.Key}: acknowledged '{text}' would be stored {at.Count} times (log positions {string.Join(", ", at)}): " +
                                 "it was sent again in a batch a real broker could not recognise as a duplicate.");
                }

                if (at[0] < previous.Position)
                {
                    problems.Add($"{group.Key}: acknowledged '{text}' would be at log position {at[0]}, before '{previous.Text}' at {previous.Position} (send order reversed).");
                }

                previous = (at[0], text);
            }
        }

        return problems;
    }

    /// <summary>Throws <see cref="IdempotenceViolationException"/> listing the problems <see cref="Check"/> finds.</summary>
    public void Verify(IEnumerable<AcknowledgedRecord> acknowledged)
    {
        var problems = Check(acknowledged);
        if (problems.Count > 0)
        {
            throw new IdempotenceViolationException(
                $"A real broker would not hold every acknowledged record exactly once, in order ({Report()}):" + Environment.NewLine +
                string.Join(Environment.NewLine, problems.Take(30)) +
                (problems.Count > 30 ? $"{Environment.NewLine}... and {problems.Count - 30} more." : ""));
        }
    }

    private (BatchVerdict, string) Judge(ProducedBatch batch)
    {
        if (batch.ProducerId < 0)
        {
            return (BatchVerdict.Appended, "");
        }

        if (!_producers.TryGetValue((batch.TopicPartition, batch.ProducerId), out var state))
        {
            return batch.BaseSequence == 0
                ? (BatchVerdict.Appended, "")
                : (BatchVerdict.UnknownProducer, $"no state for producer {batch.ProducerId} and the first sequence is not 0");
        }

        if (batch.ProducerEpoch < state.Epoch)
        {
            return (BatchVerdict.Fenced, $"current epoch is {state.Epoch}");
        }

        if (batch.ProducerEpoch > state.Epoch)
        {
            return batch.BaseSequence == 0
                ? (BatchVerdict.Appended, "")
                : (BatchVerdict.OutOfOrder, $"a new epoch must start at sequence 0 (epoch was {state.Epoch})");
        }

        if (state.Recent.Any(r => r.First == batch.BaseSequence && r.Last == batch.LastSequence))
        {
            return (BatchVerdict.Duplicate, "same sequences as a recent batch");
        }

        var expected = ProducedBatch.AddSequence(state.LastSequence, 1);
        return batch.BaseSequence == expected
            ? (BatchVerdict.Appended, "")
            : (BatchVerdict.OutOfOrder, $"expected sequence {expected}");
    }

    private void Append(ProducedBatch batch)
    {
        if (batch.ProducerId >= 0)
        {
            var key = (batch.TopicPartition, batch.ProducerId);
            if (!_producers.TryGetValue(key, out var state) || state.Epoch != batch.ProducerEpoch)
            {
                // A new producer or a new epoch starts a fresh history, as the broker's producer entry does.
                _producers[key] = state = new ProducerState(batch.ProducerEpoch);
            }

            state.Recent.Enqueue((batch.BaseSequence, batch.LastSequence));
            if (state.Recent.Count > DuplicateWindow)
            {
                state.Recent.Dequeue();
            }

            state.LastSequence = batch.LastSequence;
        }

        if (!_stored.TryGetValue(batch.TopicPartition, out var log))
        {
            _stored[batch.TopicPartition] = log = [];
        }

        log.AddRange(batch.Records.Select(r => new StoredRecord(batch.ProducerId, batch.ProducerEpoch, r.Sequence, r.Key, r.Value)));
    }

    /// <summary>Why an acknowledged value is missing: the batches that carried it and their verdicts.</summary>
    private static string Explain(OracleReport report, TopicPartition tp, byte[]? value)
    {
        var key = ValueKey(value);
        var carriers = report.Batches
            .Where(b => b.Batch.TopicPartition == tp && b.Batch.Records.Any(r => ValueKey(r.Value) == key))
            .Select(b => $"{b.Verdict} ({b.Batch.ProducerId}/{b.Batch.ProducerEpoch} seq {b.Batch.BaseSequence}..{b.Batch.LastSequence})")
            .ToList();
        if (carriers.Count > 0)
        {
            return "; its batches were judged: " + string.Join(", ", carriers);
        }

        return report.Batches.Any(b => b.Batch.TopicPartition == tp && b.Batch.IsCompressed)
            ? "; the partition has snappy, lz4 or zstd batches, whose records the oracle cannot match"
            : "; no batch seen by the oracle carried it";
    }

    private static string ValueKey(byte[]? value) => value is null ? "\0null" : Convert.ToBase64String(value);

    /// <summary>What the broker remembers about one producer id on one partition.</summary>
    private sealed class ProducerState(short epoch)
    {
        public short Epoch { get; } = epoch;

        public int LastSequence { get; set; } = -1;

        public Queue<(int First, int Last)> Recent { get; } = new();
    }
}
