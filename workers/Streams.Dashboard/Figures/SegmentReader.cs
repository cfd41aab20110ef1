using Npgsql;
using Streams.Segmentation.Engine;
using Streams.Segmentation.Model;
using Streams.Segmentation.Store;

namespace Streams.Dashboard.Figures;

/// <summary>
/// Reads the segments through the segmentation capability's readers: the model's centroids and scaler (not the reservoir
/// sample), and each segment's size in the current model version.
/// </summary>
public sealed class SegmentReader(NpgsqlDataSource dataSource, int minSegmentSize)
{
    public async Task<SegmentsFigures> ReadAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        // One snapshot for the model and the sizes, so they belong to the same mini-batch.
        await using var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken)
            .ConfigureAwait(false);
        var (model, scaler) = SegmentDirectory.Model(connection, transaction);
        if (model is null || scaler is null)
        {
            return SegmentsFigures.Unavailable(minSegmentSize, "no segmentation model yet");
        }

        var sizes = SegmentationRepository.Sizes(connection, transaction, model.Version);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return Figures(model, new RunningScaler(scaler), sizes, minSegmentSize);
    }

    /// <summary>The figures of a model: segments largest first, described as the catalog describes them.</summary>
    public static SegmentsFigures Figures(KMeansState model, RunningScaler scaler, IReadOnlyDictionary<int, long> sizes, int minSegmentSize)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(sizes);
        if (model.Dimension != FeatureSpace.Dimension || scaler.Dimension != FeatureSpace.Dimension)
        {
            return SegmentsFigures.Unavailable(minSegmentSize,
                $"the stored model has {model.Dimension} dimensions, this build knows {FeatureSpace.Dimension}");
        }

        var segments = new List<SegmentFigures>(model.K);
        for (var c = 0; c < model.K; c++)
        {
            var centroid = model.Centroids.AsSpan(c * model.Dimension, model.Dimension);
            var size = sizes.GetValueOrDefault(model.SegmentIds[c]);
            // Below the privacy floor the worker neither describes nor assigns a segment; the view says only its size.
            var described = size >= minSegmentSize;
            segments.Add(new SegmentFigures(
                model.SegmentIds[c],
                size,
                described,
                described ? SegmentDescriber.Describe(centroid) : "",
                described ? SegmentDescriber.TopFeatures(centroid) : [],
                described ? centroid.ToArray() : [],
                described ? FeatureSpace.ToOriginalUnits(centroid, scaler) : new Dictionary<string, double>()));
        }

        var population = FeatureSpace.ToOriginalUnits(new double[FeatureSpace.Dimension], scaler);
        return new SegmentsFigures(model.Version, [.. segments.OrderByDescending(s => s.Size).ThenBy(s => s.Id)], population, minSegmentSize, null);
    }
}
