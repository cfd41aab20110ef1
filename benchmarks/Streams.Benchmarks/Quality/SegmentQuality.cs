using System.Diagnostics;
using System.Globalization;
using System.Text;
using Streams.Contracts.Profiles;
using Streams.Benchmarks.Load;
using Streams.Contracts;
using Streams.Ingest;
using Streams.Profiles.Features;
using Streams.Segmentation;
using Streams.Segmentation.Engine;
using Streams.Segmentation.Model;
using Streams.Simulator;

namespace Streams.Benchmarks.Quality;

/// <summary>
/// <c>segment-quality [--customers 1000,3000,10000] [--seeds 1,2,3] [--mix main|second|both] [--events E]
/// [--Segmentation:Key=value …]</c>: the simulator's customers through the real pure code of every stage, scored
/// against the personas they were drawn from. See benchmarks/README.md.
/// </summary>
internal static class SegmentQuality
{
    // The sample pipeline's clock: every simulated event lies before it.
    private static readonly DateTimeOffset Now = SampleRecords.Now;

    public static int Run(string[] args)
    {
        LoadRun.RejectUnknown(args, "--customers", "--seeds", "--mix", "--events");
        var sizes = List(args, "--customers", [1000, 3000, 10_000]);
        var seeds = List(args, "--seeds", [1, 2, 3]);
        var events = LoadRun.Option(args, "--events", 20, min: 1, max: 1000);
        var mixArg = Value(args, "--mix") ?? "both";
        if (mixArg is not ("main" or "second" or "both"))
        {
            throw new LoadOptionException($"--mix takes main, second or both; got '{mixArg}'.");
        }

        var options = Options(args);
        string[] mixes = mixArg == "both" ? [SimulatorOptions.MainMix, SimulatorOptions.SecondMix] : [mixArg];

        Console.WriteLine("| mix | customers | seed | true k | k | scored | ARI | NMI | purity | oracle ARI | ARI / oracle | inertia / oracle | id kept | s |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var name in mixes)
        {
            foreach (var customers in sizes)
            {
                foreach (var seed in seeds)
                {
                    var clock = Stopwatch.StartNew();
                    var r = Measure(options, name, customers, seed, events);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"| {name} | {customers:N0} | {seed} | {r.TrueK} | {r.K} | {r.Scored:N0} | {r.Ari:F3} | {r.Nmi:F3} | {r.Purity:F3} | {r.OracleAri:F3} | {r.Ari / r.OracleAri:F3} | {r.InertiaRatio:F3} | {r.Stability:P1} | {clock.Elapsed.TotalSeconds:F1} |"));
                }
            }
        }

        return 0;
    }

    /// <summary>The figures of one run.</summary>
    internal sealed record Result(int TrueK, int K, int Scored, double Ari, double Nmi, double Purity, double OracleAri, double InertiaRatio, double Stability);

    /// <summary>
    /// One world: the simulator's records through ingest's pipeline (duplicates dropped as ingest's de-duplication does),
    /// the accepted events into one <see cref="ProfileAggregate"/> per customer in batches as the profiles worker makes
    /// them (one profile record per touched profile per batch), and that update stream through the segmentation engine
    /// in mini-batches with an in-memory store in place of PostgreSQL. Identity comes from the ground truth (the pipeline
    /// resolves it with F1 1.0 on this traffic) and every customer consents, so only segmentation is measured.
    /// </summary>
    internal static Result Measure(SegmentationOptions options, string mix, int customers, int seed, int eventsPerCustomer)
    {
        var simulator = new TrafficSimulator(new SimulatorOptions
        {
            Seed = seed, Run = 1, Now = Now, Customers = customers, EventsPerCustomer = eventsPerCustomer,
            PersonaMix = mix, ConsentRequestRate = 0,
        });
        var updates = ProfileUpdates(simulator);
        var world = new InMemorySegmentation(options, Now);
        for (var start = 0; start < updates.Count; start += options.MiniBatchSize)
        {
            world.Apply(updates.GetRange(start, Math.Min(options.MiniBatchSize, updates.Count - start)));
        }

        var (engine, checkpoint, store) = (world.Engine, world.Checkpoint, world.Store);
        var model = new MiniBatchKMeans(checkpoint.Model ?? throw new InvalidOperationException("The model was never seeded."));
        var persona = simulator.Customers.ToDictionary(c => ProfileId(c.Id), c => c.Persona.Id, StringComparer.Ordinal);
        var scored = store.Values.Where(r => r.SegmentId is not null && r.ModelVersion == model.Version)
            .OrderBy(r => r.ProfileId, StringComparer.Ordinal).ToList();
        var truth = scored.Select(r => persona[r.ProfileId]).ToList();
        var found = scored.Select(r => r.SegmentId!.Value).ToList();

        // The oracle: ML.NET batch k-means, best of 10, on the same final vectors in the model's own space and k.
        var points = scored.Select(r => SegmentationEngine.ModelVector(checkpoint, r.Raw)).ToList();
        var oracle = KMeansSeeder.Seed(points, model.K, seed, restarts: 10);
        var oracleModel = MiniBatchKMeans.FromSeed(oracle);
        var oracleLabels = points.Select(p => oracleModel.Assign(p, out _)).ToList();

        // A re-seed of the unchanged population: how many keep their segment id.
        var reseeded = engine.Reseed(checkpoint, seed + 7919) ?? throw new InvalidOperationException("The re-seed failed.");
        var kept = points.Count(p => model.SegmentIds[model.Assign(p, out _)] == reseeded.SegmentIds[reseeded.Assign(p, out _)]);

        return new Result(simulator.Options.Personas.Count, model.K, scored.Count,
            ClusterAgreement.AdjustedRandIndex(truth, found), ClusterAgreement.NormalizedMutualInformation(truth, found),
            ClusterAgreement.Purity(truth, found), ClusterAgreement.AdjustedRandIndex(truth, oracleLabels),
            model.Inertia(points) / oracleModel.Inertia(points), kept / (double)Math.Max(points.Count, 1));
    }

    /// <summary>
    /// The profile update stream: records through <see cref="IngestPipeline"/>, accepted and flagged events applied per
    /// customer in batches of the profiles worker's default size, one update per profile touched in a batch.
    /// </summary>
    internal static List<ProfileUpdate> ProfileUpdates(TrafficSimulator simulator) => ProfileUpdates(simulator, out _);

    internal static List<ProfileUpdate> ProfileUpdates(TrafficSimulator simulator, out Dictionary<string, double[]> counts)
    {
        var channelCounts = counts = new Dictionary<string, double[]>(StringComparer.Ordinal);
        const int batchSize = 5000;
        var pipeline = SampleRecords.Pipeline();
        var seen = new HashSet<(string, string)>();
        var aggregates = new Dictionary<int, ProfileAggregate>();
        var updates = new List<ProfileUpdate>();
        var touched = new List<int>();
        var inBatch = 0;
        foreach (var record in simulator.Generate())
        {
            if (record.CustomerId is not { } customer || record.Topic == SimulatorTopics.Consent)
            {
                continue;
            }

            var outcome = pipeline.Process(Enum.Parse<Channel>(record.Topic, ignoreCase: true), new SourcePosition(record.Topic, 0, 0),
                Encoding.UTF8.GetBytes(record.Value));
            if (outcome.Event is not { } e || !seen.Add((record.Topic, e.EventId)) || !ProfileAggregate.CanApply(e))
            {
                continue;
            }

            if (!aggregates.TryGetValue(customer, out var aggregate))
            {
                aggregates[customer] = aggregate = new ProfileAggregate();
            }

            if (!touched.Contains(customer))
            {
                touched.Add(customer);
            }

            aggregate.Apply(e);
            if (++inBatch == batchSize)
            {
                Flush();
            }
        }

        Flush();
        return updates;

        void Flush()
        {
            updates.AddRange(touched.Select(c => Update(c, aggregates[c])));
            foreach (var c in touched)
            {
                var e = aggregates[c].EventCounts;
                channelCounts[ProfileId(c)] = [e.Clickstream, e.Store, e.Callcenter, e.Social];
            }

            touched.Clear();
            inBatch = 0;
        }
    }

    internal static string ProfileId(int customer) => "p-" + customer.ToString(CultureInfo.InvariantCulture);

    private static ProfileUpdate Update(int customer, ProfileAggregate aggregate) =>
        new(ProfileId(customer), aggregate.Features(), true);

    private static SegmentationOptions Options(string[] args)
    {
        var options = new SegmentationOptions();
        foreach (var arg in args.Where(a => a.StartsWith("--Segmentation:", StringComparison.Ordinal)))
        {
            var (key, value) = (arg["--Segmentation:".Length..arg.IndexOf('=', StringComparison.Ordinal)], arg[(arg.IndexOf('=', StringComparison.Ordinal) + 1)..]);
            var property = typeof(SegmentationOptions).GetProperty(key) ?? throw new LoadOptionException($"no setting Segmentation:{key}");
            property.SetValue(options, property.PropertyType == typeof(TimeSpan)
                ? TimeSpan.Parse(value, CultureInfo.InvariantCulture)
                : Convert.ChangeType(value, property.PropertyType, CultureInfo.InvariantCulture));
        }

        return options;
    }

    private static string? Value(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    private static int[] List(string[] args, string name, int[] fallback)
    {
        var text = Value(args, name);
        if (text is null)
        {
            return fallback;
        }

        try
        {
            return [.. text.Split(',').Select(t => int.Parse(t, NumberStyles.AllowThousands, CultureInfo.InvariantCulture))];
        }
        catch (FormatException)
        {
            throw new LoadOptionException($"{name} takes whole numbers separated by commas; got '{text}'.");
        }
    }
}
