using Confluent.Kafka;

namespace Streams.Infrastructure.Kafka;

/// <summary>Producing on a hot path: <c>Produce</c> with a delivery handler, never an awaited <c>ProduceAsync</c> per record.</summary>
public static class ProducerBackpressure
{
    /// <summary>
    /// Produces <paramref name="message"/>; while librdkafka's queue is full, lets deliveries drain and tries again
    /// (back-pressure rather than a failure: the queue empties as the broker acknowledges).
    /// </summary>
    public static void Produce<TKey, TValue>(IProducer<TKey, TValue> producer, string topic, Message<TKey, TValue> message,
        Action<DeliveryReport<TKey, TValue>> onDelivery)
    {
        ArgumentNullException.ThrowIfNull(producer);
        while (true)
        {
            try
            {
                producer.Produce(topic, message, onDelivery);
                return;
            }
            catch (ProduceException<TKey, TValue> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
            {
                producer.Poll(TimeSpan.FromMilliseconds(100));
            }
        }
    }
}
