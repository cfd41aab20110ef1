using System.Text.Json;
using System.Text.Json.Serialization;
using Confluent.Kafka;
using Streamiz.Kafka.Net.SerDes;
using Streams.Quality.Alerts;

namespace Streams.Quality.Figures;

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(QuarantineSummary))]
[JsonSerializable(typeof(QualityFigures))]
[JsonSerializable(typeof(QualityMinute))]
[JsonSerializable(typeof(List<QualityMinute>))]
[JsonSerializable(typeof(Dictionary<string, string>))]
[JsonSerializable(typeof(QualityAlert))]
internal sealed partial class QualityJsonContext : JsonSerializerContext;

/// <summary>The figures in the topology's store, changelog and repartition topic.</summary>
internal sealed class QualityFiguresSerDes : AbstractSerDes<QualityFigures>
{
    public override byte[] Serialize(QualityFigures data, SerializationContext context) =>
        JsonSerializer.SerializeToUtf8Bytes(data, QualityJsonContext.Default.QualityFigures);

    public override QualityFigures Deserialize(byte[] data, SerializationContext context) =>
        data is null ? null! : JsonSerializer.Deserialize(data, QualityJsonContext.Default.QualityFigures) ?? QualityFigures.Empty;
}

/// <summary>The records of the <c>data-quality</c> topic.</summary>
internal sealed class QualityMinuteSerDes : AbstractSerDes<QualityMinute>
{
    public override byte[] Serialize(QualityMinute data, SerializationContext context) =>
        JsonSerializer.SerializeToUtf8Bytes(data, QualityJsonContext.Default.QualityMinute);

    public override QualityMinute Deserialize(byte[] data, SerializationContext context) =>
        JsonSerializer.Deserialize(data, QualityJsonContext.Default.QualityMinute)!;
}
