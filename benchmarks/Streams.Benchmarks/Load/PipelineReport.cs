using System.Globalization;
using System.Text;
using Streams.Infrastructure.Postgres;

namespace Streams.Benchmarks.Load;

/// <summary>
/// One stage over the timed run: records it committed, its worst lag, when it had caught up for good, and its rate while it
/// had a backlog (its capacity, since it was never waiting for input then).
/// </summary>
internal sealed record StageSummary(string Stage, long Processed, long MaxLag, long MaxPartitionLag, double CaughtUpSeconds, double DrainSeconds,
    double BackloggedRecordsPerSecond, double EventsPerSecondCapacity)
{
    public double RecordsPerSecond => CaughtUpSeconds > 0 ? Processed / CaughtUpSeconds : double.NaN;

    /// <summary>
    /// Per stage, from the samples: a stage had caught up at the first sample after the last one where it still had lag (or
    /// input was still being produced); its drain is how long after its upstream (the producer, for the first) that was.
    /// Its capacity is what it committed over the intervals that began with a backlog, in its own records a second and
    /// in input events a second (its records per event in this run); the stage of the lowest event capacity is the one the
    /// others wait for.
    /// </summary>
    public static IReadOnlyList<StageSummary> Of(PhaseResult phase, long produced)
    {
        var result = new List<StageSummary>();
        var upstream = phase.ProducedSeconds;
        for (var i = 0; i < phase.Before.Count; i++)
        {
            var samples = phase.Samples;
            var lastBusy = -1;
            for (var s = 0; s < samples.Count; s++)
            {
                if (samples[s].Stages[i].Lag > 0 || samples[s].Produced < produced)
                {
                    lastBusy = s;
                }
            }

            var (busySeconds, busyRecords) = (0.0, 0L);
            for (var s = 1; s < samples.Count; s++)
            {
                if (samples[s - 1].Stages[i].Lag > 0)
                {
                    busySeconds += samples[s].Seconds - samples[s - 1].Seconds;
                    busyRecords += samples[s].Stages[i].Committed - samples[s - 1].Stages[i].Committed;
                }
            }

            var caughtUp = samples[Math.Min(lastBusy + 1, samples.Count - 1)].Seconds;
            var processed = samples[^1].Stages[i].Committed - phase.Before[i].Committed;
            var backlogged = busySeconds > 0 ? busyRecords / busySeconds : double.NaN;
            result.Add(new StageSummary(
                phase.Before[i].Stage,
                processed,
                samples.Max(s => s.Stages[i].Lag),
                samples.Max(s => s.Stages[i].MaxPartitionLag),
                caughtUp,
                Math.Max(0, caughtUp - upstream),
                backlogged,
                processed > 0 ? backlogged * produced / processed : double.NaN));
            upstream = caughtUp;
        }

        return result;
    }
}

/// <summary>
/// The run's CPU by part of the process (from the CPU by thread name) and PostgreSQL: the embedded broker apart from
/// the workers, and the benchmark's own threads apart from both.
/// </summary>
internal static class CpuParts
{
    public const string Broker = "embedded broker (rdk:mock)";
    public const string Clients = "librdkafka client threads (rdk:*, the benchmark's clients included)";
    public const string ThreadPool = "thread pool (.NET TP Worker)";
    public const string Bench = "the benchmark's own threads (bench-*)";
    public const string Runtime = "other .NET threads (GC, JIT, timers, the clients' poll loops, main)";
    public const string Ended = "threads that ended between two readings (what no reading of a thread saw)";
    public const string Postgres = "PostgreSQL";

    /// <summary>The loop threads the runtime names after each worker (<c>CheckpointedBatchRuntime</c>).</summary>
    public static readonly IReadOnlyList<string> WorkerLoops = ["ingest", "profiles", "segmentation", "activation", "quarantine-index"];

    /// <summary>
    /// CPU seconds by part, in a fixed order (broker, clients, each worker's loop, thread pool, benchmark, other threads,
    /// threads that ended, PostgreSQL); a worker's loop only when its thread used CPU. NaN PostgreSQL (not readable) is
    /// left out. Given the process's own CPU, what no reading of a thread accounts for is CPU of threads that ended
    /// before they were read again (the runtime's tiered-compilation worker ends whenever its queue is empty): a part of
    /// its own, so that the parts add up to the process's CPU.
    /// </summary>
    public static IReadOnlyList<(string Part, double Seconds)> Of(
        IReadOnlyDictionary<string, double> byThreadName, double postgresSeconds, double processSeconds = double.NaN)
    {
        var sums = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (name, seconds) in byThreadName)
        {
            var part = PartOf(name);
            sums[part] = sums.GetValueOrDefault(part) + seconds;
        }

        var result = new List<(string, double)> { (Broker, sums.GetValueOrDefault(Broker)), (Clients, sums.GetValueOrDefault(Clients)) };
        result.AddRange(WorkerLoops.Where(sums.ContainsKey).Select(w => (Loop(w), sums[w])));
        result.Add((ThreadPool, sums.GetValueOrDefault(ThreadPool)));
        result.Add((Bench, sums.GetValueOrDefault(Bench)));
        result.Add((Runtime, sums.GetValueOrDefault(Runtime)));
        // Thread readings are rounded to 10 ms each: a shortfall below that many hundredths is rounding, not a thread.
        var ended = processSeconds - byThreadName.Values.Sum();
        if (ended > 0.01 * byThreadName.Count)
        {
            result.Add((Ended, ended));
        }

        if (!double.IsNaN(postgresSeconds))
        {
            result.Add((Postgres, postgresSeconds));
        }

        return [.. result.Select(r => (r.Item1, Math.Round(r.Item2, 2)))];
    }

    /// <summary>What the workers themselves cost: their loops, the thread pool (saves, publishing) and PostgreSQL, without the broker and the benchmark.</summary>
    public static double WorkersSeconds(IReadOnlyList<(string Part, double Seconds)> parts) =>
        parts.Where(p => p.Part is ThreadPool or Postgres || WorkerLoops.Any(w => p.Part == Loop(w))).Sum(p => p.Seconds);

    public static string Loop(string worker) => $"{worker}'s loop thread";

    private static string PartOf(string threadName) => threadName switch
    {
        "rdk:mock" => Broker,
        _ when threadName.StartsWith("rdk:", StringComparison.Ordinal) => Clients,
        _ when WorkerLoops.Contains(threadName, StringComparer.Ordinal) => threadName,
        ".NET TP Worker" => ThreadPool,
        _ when threadName.StartsWith("bench-", StringComparison.Ordinal) => Bench,
        _ => Runtime,
    };
}

/// <summary>The readable table and the JSON document of a pipeline-load run.</summary>
internal static class PipelineReport
{
    private const double MiB = 1024 * 1024;

    public static string Markdown(PipelineResult r)
    {
        var n = r.Settings.Events;
        var eventsPerSecond = n / r.Pipeline.Seconds;
        var stages = StageSummary.Of(r.Pipeline, n);
        var bottleneck = stages.Where(s => !double.IsNaN(s.EventsPerSecondCapacity)).MinBy(s => s.EventsPerSecondCapacity);
        var text = new StringBuilder();
        void Line(string line) => text.AppendLine(line);
        void Row(params object[] cells) => text.AppendLine("| " + string.Join(" | ", cells.Select(Format)) + " |");

        Line($"## pipeline-load: {n:N0} events, {r.Settings.Partitions} partitions"
            + (r.Settings.Hosts > 1 ? $" shared by {r.Settings.Hosts} hosts ({r.Settings.Partitions / r.Settings.Hosts} each)" : "")
            + $", warm-up {r.Settings.Warmup:N0}, "
            + (r.Settings.Rate > 0 ? $"offered at {r.Settings.Rate:N0} events/s" : "saturation")
            + (r.Settings.MaxBacklog > 0 && r.Settings.Rate == 0 ? $", at most {r.Settings.MaxBacklog:N0} events waiting in ingest and profiles" : "")
            + (r.Settings.InputLingerMs != PacedProducer.DefaultLingerMs ? $", input produced with a {r.Settings.InputLingerMs} ms linger" : "")
            + (r.TrimmedRecords is { } trimmed ? $", consumed records trimmed from the embedded broker ({trimmed:N0})" : ""));
        Line("");
        if (!r.Valid)
        {
            Line($"**Not a valid run**: {r.MissedRecords:N0} records dropped by the broker before they were read, {r.Latency.Unmatched:N0} events "
                + $"without a profile update seen, {r.IngestOutcomes.Values.Sum():N0} of {n:N0} inputs counted by ingest.");
            Line("");
        }

        Line("| measure | pipeline | raw copy (baseline) | ratio |");
        Line("|---|---:|---:|---:|");
        Row("seconds, first produce → last output", r.Pipeline.Seconds, r.Baseline.Seconds, "");
        Row("events/s", Math.Round(eventsPerSecond), Math.Round(r.Baseline.RecordsPerSecond), Ratio(eventsPerSecond, r.Baseline.RecordsPerSecond));
        Row("process CPU s", r.ProcessCpuSeconds, r.Baseline.ProcessCpuSeconds, "");
        Row("CPU µs / event (process + PostgreSQL)", CpuPerEvent(r), r.Baseline.ProcessCpuSeconds * 1e6 / n, "");
        Line("");
        Line("| latency from produce (ms) | count | p50 | p90 | p99 | max |");
        Line("|---|---:|---:|---:|---:|---:|");
        foreach (var (name, l) in Latencies(r))
        {
            Row(name, l.Count, l.P50, l.P90, l.P99, l.Max);
        }

        Line("");
        if (r.Pipeline.Pacing is { } pacing)
        {
            Line(ProducerLine(r.Settings.Rate, pacing));
            Line("");
        }

        Line("| stage (consumer group) | records committed | records/s until caught up | records/s with a backlog | as input events/s | max lag | max lag, worst partition | caught up at s | drain after upstream s |");
        Line("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        Row("producer (bench)", n, Math.Round(n / Math.Max(r.Pipeline.ProducedSeconds, 1e-3)), "", "", "", "", r.Pipeline.ProducedSeconds, "");
        foreach (var s in stages)
        {
            Row(s.Stage, s.Processed, Math.Round(s.RecordsPerSecond), Math.Round(s.BackloggedRecordsPerSecond), Math.Round(s.EventsPerSecondCapacity),
                s.MaxLag, s.MaxPartitionLag, s.CaughtUpSeconds, s.DrainSeconds);
        }

        Line("");
        Line(bottleneck is null
            ? "No stage had a backlog at any sample: the producer was the limit."
            : $"Slowest stage: **{bottleneck.Stage}**, {Format(Math.Round(bottleneck.EventsPerSecondCapacity))} input events/s while it had a backlog.");
        Line("");
        Line("| resource | value |");
        Line("|---|---:|");
        Row("process CPU s (workers, embedded broker, and the bench's threads: see below)", r.ProcessCpuSeconds);
        Row("PostgreSQL CPU s", r.PostgresCpuSeconds);
        var segmentation = r.ThreadCpuSeconds.GetValueOrDefault("segmentation");
        Row("segmentation's loop thread: CPU s / µs per event / µs per profile record (its SQL runs in PostgreSQL, counted above)",
            $"{Format(segmentation)} / {Format(Math.Round(segmentation * 1e6 / n, 1))} / {Format(Math.Round(segmentation * 1e6 / Math.Max(r.SegmentationRecords, 1), 1))}");
        Row("managed allocation in this process, MiB / KiB per event (every thread: workers, clients, the bench's)",
            $"{Format(Math.Round(r.Gc.AllocatedBytes / MiB))} / {Format(Math.Round(r.Gc.AllocatedBytes / 1024.0 / n, 2))}");
        Row("garbage collections gen0 / gen1 / gen2; paused s", $"{r.Gc.Gen0} / {r.Gc.Gen1} / {r.Gc.Gen2}; {Format(Math.Round(r.Gc.Paused.TotalSeconds, 2))}");
        if (r.Settled is { } settled)
        {
            Row($"after the warm-up, until the JIT had compiled nothing for {JitActivity.SettleQuiet.TotalSeconds:0.#} s (at most {JitActivity.SettleLongest.TotalSeconds:0.#}): s waited / methods compiled / s compiling",
                $"{Format(Math.Round(settled.Waited.TotalSeconds, 1))} / {Format(settled.Jit.Methods)} / {Format(Math.Round(settled.Jit.Compiling.TotalSeconds, 2))}");
        }

        if (r.Jit is { } jit)
        {
            Row("JIT in the timed run: methods compiled / s compiling (tiered compilation still at work: the warm-up left it code to promote)",
                $"{Format(jit.Methods)} / {Format(Math.Round(jit.Compiling.TotalSeconds, 2))}");
        }

        Row("peak RSS of this process, MiB (sampled)", r.Pipeline.PeakProcessBytes / MiB);
        Row("of which the pre-generated input, MiB (values only)", r.Inputs.Bytes / MiB);
        Row("peak PostgreSQL memory, MiB (sum of PSS, sampled)", r.Pipeline.PeakPostgresBytes / MiB);
        Row("load average 1 min: before / after run / after baseline", $"{Format(r.LoadAverage.Before)} / {Format(r.LoadAverage.After)} / {Format(r.LoadAverage.End)}");
        Row("machine CPU idle over the timed run, % of all cores (/proc/stat; a sizable share: the pipeline waited, not the CPU)",
            double.IsNaN(r.MachineIdleShare) ? "n/a" : Format(Math.Round(r.MachineIdleShare * 100, 1)));
        Line("");
        var parts = CpuParts.Of(r.ThreadCpuSeconds, r.PostgresCpuSeconds, r.ProcessCpuSeconds);
        Line("| CPU by part (timed run) | CPU s | µs / event |");
        Line("|---|---:|---:|");
        foreach (var (part, seconds) in parts)
        {
            Row(part, seconds, Math.Round(seconds * 1e6 / n, 1));
        }

        var workers = CpuParts.WorkersSeconds(parts);
        Row("**workers' CPU per event (loops + thread pool + PostgreSQL, without broker and benchmark)**", workers, Math.Round(workers * 1e6 / n, 1));
        Line("");
        Line("| process CPU s by thread name | " + string.Join(" | ", r.ThreadCpuSeconds.Keys.Take(10)) + " |");
        Line("|---|" + string.Concat(r.ThreadCpuSeconds.Keys.Take(10).Select(_ => "---:|")));
        Row(["CPU s", .. r.ThreadCpuSeconds.Values.Take(10).Select(v => (object)v)]);
        if (r.Allocations is { SampledBytes: > 0 } allocations)
        {
            Line("");
            Line($"| allocated by type (timed run, sampled by the runtime's allocation tick: {Format(Math.Round(allocations.SampledBytes / MiB))} MiB) | share | KiB / event |");
            Line("|---|---:|---:|");
            foreach (var (type, bytes) in allocations.Top)
            {
                Row(type, $"{Format(Math.Round(100.0 * bytes / allocations.SampledBytes, 1))} %", Math.Round(bytes / 1024.0 / n, 2));
            }
        }
        if (r.Statements is { } statements)
        {
            Line("");
            Line($"| PostgreSQL statements (timed run, pg_stat_statements; {statements.Distinct} distinct; execution time includes waits) | calls | rows | ms | µs / event | planning µs / event | blocks / event | WAL bytes / event |");
            Line("|---|---:|---:|---:|---:|---:|---:|---:|");
            foreach (var statement in statements.Top.Append(statements.All))
            {
                Row(StatementText(statement.Query), statement.Calls, statement.Rows, Math.Round(statement.ExecutionMs), Math.Round(statement.ExecutionMs * 1e3 / n, 1),
                    Math.Round(statement.PlanningMs * 1e3 / n, 2), Math.Round((double)statement.SharedBlocks / n, 1), Math.Round((double)statement.WalBytes / n));
            }
        }

        Line("");
        Line("| profiles stage (ms in total) | " + string.Join(" | ", r.ProfileStageMs.Keys.Order(StringComparer.Ordinal)) + " |");
        Line("|---|" + string.Concat(r.ProfileStageMs.Keys.Select(_ => "---:|")));
        Row(["time", .. r.ProfileStageMs.OrderBy(k => k.Key, StringComparer.Ordinal).Select(k => (object)k.Value)]);
        Line("");
        Line("Ingest outcomes: " + string.Join(", ", r.IngestOutcomes.OrderBy(k => k.Key, StringComparer.Ordinal).Select(k => $"{k.Key} {k.Value:N0}"))
            + $"; segmentation took {r.SegmentationRecords:N0} profile records in {r.SegmentationMiniBatches:N0} mini-batches, "
            + $"its checkpoint's JSON at the end {r.SegmentationCheckpointBytes / 1024.0:N1} KiB.");
        Line("");
        Line("| s | produced | " + string.Join(" | ", stages.Select(s => s.Stage + " lag")) + " | process MiB | PostgreSQL MiB |");
        Line("|---:|---:|" + string.Concat(stages.Select(_ => "---:|")) + "---:|---:|");
        foreach (var sample in Thin(r.Pipeline.Samples.Where(s => s.ProcessBytes is not null).ToList(), 20))
        {
            Row([sample.Seconds, sample.Produced, .. sample.Stages.Select(s => (object)s.Lag), sample.ProcessBytes!.Value / MiB, (sample.PostgresBytes ?? 0) / MiB]);
        }

        Line("");
        Line($"Machine: {r.Machine}. Inputs: {r.Inputs.Count:N0} simulated records, mean {r.Inputs.MeanBytes:F0} B "
            + $"({string.Join(", ", r.Inputs.CountByTopic().OrderBy(k => k.Key, StringComparer.Ordinal).Select(k => $"{k.Key} {k.Value:N0}"))}).");
        return text.ToString();
    }

    /// <summary>
    /// What held the benchmark's producer, in words: with a rate, an open loop the pipeline could not shape only if
    /// nothing was held or lost; the latency counts from each record's produce time, so lost schedule time is not in it.
    /// </summary>
    internal static string ProducerLine(int rate, ProducerPacing p) =>
        "Producer: latency is measured from each record's produce time. "
        + $"The lag limit held it {p.Holds:N0} times, {p.Held.TotalSeconds:F2} s in all (longest {p.LongestHold.TotalMilliseconds:F0} ms); "
        + (rate > 0
            ? $"{p.LateRecords:N0} records went more than {Pacer.CatchUp.TotalMilliseconds:F0} ms after their turn at {rate:N0}/s and moved the schedule "
                + $"by {p.Lost.TotalSeconds:F2} s in all (longest {p.LongestLoss.TotalMilliseconds:F0} ms; schedule time lost, not made up in a burst "
                + "and not in the latencies); "
            : "")
        + $"most records in {Pacer.BurstWindow.TotalMilliseconds:F0} ms: {p.PeakPerWindow:N0}"
        + (rate > 0 ? $" (the rate's share: {rate * Pacer.BurstWindow.TotalSeconds:N0})." : ".");

    public static Dictionary<string, object?> Json(PipelineResult r)
    {
        var n = r.Settings.Events;
        var eventsPerSecond = n / r.Pipeline.Seconds;
        return new Dictionary<string, object?>
        {
            ["events"] = n,
            ["partitions"] = r.Settings.Partitions,
            ["hosts"] = r.Settings.Hosts,
            ["partitions_per_host"] = r.Settings.Partitions / r.Settings.Hosts,
            ["warmup_events"] = r.Settings.Warmup,
            ["offered_rate_per_s"] = r.Settings.Rate,
            ["input_linger_ms"] = r.Settings.InputLingerMs,
            ["max_backlog_events"] = r.Settings.MaxBacklog,
            ["trim_consumed"] = r.Settings.TrimConsumed,
            ["trimmed_records"] = r.TrimmedRecords,
            ["lag_budget_bytes_per_partition"] = r.Settings.BudgetBytes,
            ["valid"] = r.Valid,
            ["missed_records"] = r.MissedRecords,
            ["pipeline_seconds"] = Math.Round(r.Pipeline.Seconds, 3),
            ["pipeline_events_per_s"] = Math.Round(eventsPerSecond),
            ["baseline_seconds"] = Math.Round(r.Baseline.Seconds, 3),
            ["baseline_records_per_s"] = Math.Round(r.Baseline.RecordsPerSecond),
            ["ratio_pipeline_to_baseline"] = Math.Round(eventsPerSecond / r.Baseline.RecordsPerSecond, 4),
            ["latency_ms"] = Latencies(r).ToDictionary(l => l.Name, l => (object)l.Summary),
            ["unmatched_events"] = r.Latency.Unmatched,
            ["segment_unmatched_events"] = r.Latency.SegmentUnmatched,
            ["latency_resolution_ms"] = 50,
            ["process_cpu_s"] = Math.Round(r.ProcessCpuSeconds, 2),
            ["postgres_cpu_s"] = Math.Round(r.PostgresCpuSeconds, 2),
            ["cpu_us_per_event"] = Math.Round(CpuPerEvent(r), 1),
            ["process_cpu_s_by_thread_name"] = r.ThreadCpuSeconds,
            ["cpu_by_part"] = CpuParts.Of(r.ThreadCpuSeconds, r.PostgresCpuSeconds, r.ProcessCpuSeconds).ToDictionary(p => p.Part, p => new Dictionary<string, double>
            {
                ["cpu_s"] = p.Seconds,
                ["us_per_event"] = Math.Round(p.Seconds * 1e6 / n, 1),
            }),
            ["workers_cpu_us_per_event"] = Math.Round(CpuParts.WorkersSeconds(CpuParts.Of(r.ThreadCpuSeconds, r.PostgresCpuSeconds)) * 1e6 / n, 1),
            ["baseline_process_cpu_s"] = Math.Round(r.Baseline.ProcessCpuSeconds, 2),
            ["jit"] = r.Jit?.ToJson(),
            ["jit_settle"] = r.Settled is { } settle ? new Dictionary<string, object?>(settle.Jit.ToJson()) { ["waited_s"] = Math.Round(settle.Waited.TotalSeconds, 2) } : null,
            ["gc"] = new Dictionary<string, object?>
            {
                ["allocated_bytes"] = r.Gc.AllocatedBytes,
                ["collections"] = new[] { r.Gc.Gen0, r.Gc.Gen1, r.Gc.Gen2 },
                ["paused_s"] = Math.Round(r.Gc.Paused.TotalSeconds, 3),
                ["allocated_by_type_sampled"] = r.Allocations?.Top.ToDictionary(t => t.Type, t => t.Bytes),
            },
            ["postgres_statements"] = r.Statements is { } costs ? StatementsJson(costs) : null,
            ["peak_process_rss_bytes"] = r.Pipeline.PeakProcessBytes,
            ["input_value_bytes"] = r.Inputs.Bytes,
            ["peak_postgres_pss_bytes"] = r.Pipeline.PeakPostgresBytes,
            ["produce_seconds"] = Math.Round(r.Pipeline.ProducedSeconds, 3),
            ["latency_measured_from"] = "produce time (the timestamp the benchmark's producer set just before Produce)",
            ["producer_pacing"] = r.Pipeline.Pacing is { } p
                ? new Dictionary<string, object>
                {
                    ["lag_limit_holds"] = p.Holds,
                    ["lag_limit_held_s"] = Math.Round(p.Held.TotalSeconds, 3),
                    ["lag_limit_longest_hold_ms"] = Math.Round(p.LongestHold.TotalMilliseconds, 1),
                    ["late_records"] = p.LateRecords,
                    ["lost_schedule_s"] = Math.Round(p.Lost.TotalSeconds, 3),
                    ["longest_schedule_loss_ms"] = Math.Round(p.LongestLoss.TotalMilliseconds, 1),
                    ["peak_records_per_100ms"] = p.PeakPerWindow,
                }
                : null,
            ["stages"] = StageSummary.Of(r.Pipeline, n),
            ["profiles_stage_ms_total"] = r.ProfileStageMs,
            ["ingest_outcomes"] = r.IngestOutcomes,
            ["segmentation_records"] = r.SegmentationRecords,
            ["segmentation_mini_batches"] = r.SegmentationMiniBatches,
            ["segmentation_checkpoint_json_bytes"] = r.SegmentationCheckpointBytes,
            ["input_records_by_topic"] = r.Inputs.CountByTopic(),
            ["input_mean_bytes"] = Math.Round(r.Inputs.MeanBytes, 1),
            ["load_average"] = new[] { r.LoadAverage.Before, r.LoadAverage.After, r.LoadAverage.End },
            ["machine_idle_share"] = double.IsNaN(r.MachineIdleShare) ? null : Math.Round(r.MachineIdleShare, 4),
            ["machine"] = r.Machine,
            ["samples"] = r.Pipeline.Samples.Select(s => new Dictionary<string, object?>
            {
                ["s"] = Math.Round(s.Seconds, 3),
                ["produced"] = s.Produced,
                ["lag"] = s.Stages.ToDictionary(x => x.Stage, x => x.Lag),
                ["committed"] = s.Stages.ToDictionary(x => x.Stage, x => x.Committed),
                ["process_rss"] = s.ProcessBytes,
                ["postgres_pss"] = s.PostgresBytes,
            }),
        };
    }

    /// <summary>Runs of one command with several partition counts, side by side: the scaling table.</summary>
    public static string ScalingMarkdown(IReadOnlyList<PipelineResult> runs)
    {
        var text = new StringBuilder();
        string[] loops = [.. CpuParts.WorkerLoops.Where(w => runs.Any(r => r.ThreadCpuSeconds.ContainsKey(w)))];
        text.AppendLine("| hosts × partitions each (topic partitions) | valid | events/s | raw copy records/s | ratio | CPU µs / event: all | workers | "
            + string.Join(" | ", loops) + " | thread pool | PostgreSQL | broker | librdkafka clients | bench | p50 / p99 produce → profile, ms | "
            + "p99 produce → segment, ms (upper bound) | slowest stage (input events/s with a backlog) | load average before / after |");
        text.AppendLine("|---|---|" + string.Concat(Enumerable.Repeat("---:|", 12 + loops.Length)) + "---|---:|");
        foreach (var r in runs)
        {
            var n = r.Settings.Events;
            var eventsPerSecond = n / r.Pipeline.Seconds;
            var parts = CpuParts.Of(r.ThreadCpuSeconds, r.PostgresCpuSeconds, r.ProcessCpuSeconds).ToDictionary(p => p.Part, p => p.Seconds);
            string PerEvent(double seconds) => Format(Math.Round(seconds * 1e6 / n, 1));
            var bottleneck = StageSummary.Of(r.Pipeline, n).Where(s => !double.IsNaN(s.EventsPerSecondCapacity)).MinBy(s => s.EventsPerSecondCapacity);
            text.AppendLine("| " + string.Join(" | ", [
                $"{r.Settings.Hosts} × {r.Settings.Partitions / r.Settings.Hosts} ({r.Settings.Partitions})",
                r.Valid ? "yes" : "**no**",
                Format(Math.Round(eventsPerSecond)),
                Format(Math.Round(r.Baseline.RecordsPerSecond)),
                Ratio(eventsPerSecond, r.Baseline.RecordsPerSecond),
                Format(Math.Round(CpuPerEvent(r), 1)),
                PerEvent(CpuParts.WorkersSeconds([.. parts.Select(p => (p.Key, p.Value))])),
                .. loops.Select(w => PerEvent(parts.GetValueOrDefault(CpuParts.Loop(w)))),
                PerEvent(parts.GetValueOrDefault(CpuParts.ThreadPool)),
                PerEvent(parts.GetValueOrDefault(CpuParts.Postgres)),
                PerEvent(parts.GetValueOrDefault(CpuParts.Broker)),
                PerEvent(parts.GetValueOrDefault(CpuParts.Clients)),
                PerEvent(parts.GetValueOrDefault(CpuParts.Bench)),
                $"{Format(r.Latency.ProduceToProfile.P50)} / {Format(r.Latency.ProduceToProfile.P99)}",
                Format(r.Latency.ProduceToSegment.P99),
                bottleneck is null ? "none" : $"{bottleneck.Stage} {Format(Math.Round(bottleneck.EventsPerSecondCapacity))}",
                $"{Format(r.LoadAverage.Before)} / {Format(r.LoadAverage.After)}",
            ]) + " |");
        }

        return text.ToString();
    }

    private static double CpuPerEvent(PipelineResult r) =>
        (r.ProcessCpuSeconds + (double.IsNaN(r.PostgresCpuSeconds) ? 0 : r.PostgresCpuSeconds)) * 1e6 / r.Settings.Events;

    private static string Ratio(double a, double b) => (a / b).ToString("P1", CultureInfo.InvariantCulture);

    private static IEnumerable<(string Name, LatencySummary Summary)> Latencies(PipelineResult r) =>
    [
        ("produce → profile update out", r.Latency.ProduceToProfile),
        ("produce → canonical event (ingest)", r.Latency.ProduceToCanonical),
        ("canonical event → profile update out (profiles)", r.Latency.CanonicalToProfile),
        ("produce → segment assignment out (upper bound)", r.Latency.ProduceToSegment),
        ("profile update out → segment assignment out (segmentation, upper bound)", r.Latency.ProfileToSegment),
    ];

    /// <summary>At most <paramref name="rows"/> samples, evenly spread, the last one always included.</summary>
    internal static IEnumerable<T> Thin<T>(IReadOnlyList<T> samples, int rows)
    {
        if (samples.Count == 0)
        {
            yield break;
        }

        var step = Math.Max(1, (int)Math.Ceiling(samples.Count / (double)rows));
        for (var i = 0; i < samples.Count; i += step)
        {
            yield return samples[i];
        }

        if ((samples.Count - 1) % step != 0)
        {
            yield return samples[^1];
        }
    }

    /// <summary>A statement's text on one line of a table: its whitespace runs as one space, cut at 120 characters.</summary>
    internal static string StatementText(string query)
    {
        var text = string.Join(' ', query.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)).Replace("|", "\\|", StringComparison.Ordinal);
        return text.Length <= MaxStatementText ? $"`{text}`" : $"`{text[..(MaxStatementText - 1)]}…`";
    }

    private const int MaxStatementText = 120;

    /// <summary>A measurement's statements for a JSON report (<c>--statements</c>).</summary>
    internal static Dictionary<string, object> StatementsJson(StatementCosts costs) => new()
    {
        ["distinct"] = costs.Distinct,
        ["all"] = StatementJson(costs.All),
        ["top_by_execution_time"] = costs.Top.Select(StatementJson).ToList(),
    };

    private static Dictionary<string, object> StatementJson(StatementCost statement) => new()
    {
        ["query"] = statement.Query,
        ["calls"] = statement.Calls,
        ["rows"] = statement.Rows,
        ["execution_ms"] = Math.Round(statement.ExecutionMs, 1),
        ["planning_ms"] = Math.Round(statement.PlanningMs, 1),
        ["shared_blocks"] = statement.SharedBlocks,
        ["wal_bytes"] = statement.WalBytes,
    };

    private static string Format(object value) => value switch
    {
        double d when double.IsNaN(d) => "–",
        double d => d.ToString(Math.Abs(d) >= 100 ? "N0" : "0.##", CultureInfo.InvariantCulture),
        long l => l.ToString("N0", CultureInfo.InvariantCulture),
        int i => i.ToString("N0", CultureInfo.InvariantCulture),
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
    };
}
