using Streams.Segmentation.Model;

namespace Streams.UnitTests.Segmentation;

public sealed class ModelSpaceTests
{
    [Fact]
    public void Vector_StandardizesClipsAndImputes()
    {
        var raws = Enumerable.Range(0, 100).Select(i => Raw(("avg_basket", i % 2 == 0 ? 1 : 3))).ToList();
        raws.Add(Raw(("avg_basket", 1000)));
        var space = ModelSpace.Fit(raws);

        var extreme = space.Vector(Raw(("avg_basket", 1e9)));
        var missing = space.Vector(Raw());

        Assert.Equal(ModelSpace.ClipZ, extreme[FeatureSpace.IndexOf("avg_basket")]);
        Assert.All(missing, z => Assert.Equal(0, z));
    }

    [Fact]
    public void MapInto_CentroidKeepsItsRawPosition_AcrossARefit()
    {
        var rng = new Random(4);
        var first = ModelSpace.Fit(Enumerable.Range(0, 200).Select(_ => Raw(("avg_basket", rng.NextDouble() * 5), ("online_share", rng.NextDouble()))));
        var second = ModelSpace.Fit(Enumerable.Range(0, 200).Select(_ => Raw(("avg_basket", 2 + rng.NextDouble() * 9), ("online_share", rng.NextDouble() / 2))));
        var point = Raw(("avg_basket", 3), ("online_share", 0.3));
        var model = MiniBatchKMeans.FromSeed(new KMeansSeed([first.Vector(point)], [1]));

        var mapped = first.MapInto(model, second);

        Assert.Equal(second.Vector(point), mapped.Centroid(0).ToArray(), (a, b) => Math.Abs(a - b) < 1e-9);
        Assert.Equal(model.SegmentIds, mapped.SegmentIds);
        Assert.Equal(model.Version, mapped.Version);
    }

    private static double[] Raw(params (string Name, double Value)[] values)
    {
        var raw = Enumerable.Repeat(double.NaN, FeatureSpace.Dimension).ToArray();
        foreach (var (name, value) in values)
        {
            raw[FeatureSpace.IndexOf(name)] = value;
        }

        return raw;
    }
}
