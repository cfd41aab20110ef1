using System.Reflection;
using System.Runtime.InteropServices;

namespace Streams.Infrastructure.Kafka;

/// <summary>
/// P/Invoke surface of librdkafka's mock cluster (rdkafka_mock.h), bound to the very same native
/// library that Confluent.Kafka loads, so both share one copy of librdkafka in the process.
/// </summary>
internal static partial class LibrdkafkaNative
{
    private const string Library = "librdkafka";

    // The package's default librdkafka.so links libsasl2.so.3, which Debian lacks; Confluent.Kafka then falls back to
    // the centos8 build in the same folder. Resolving the same files in the same order gives the same loaded image.
    private static readonly string[] Candidates = ["librdkafka.so", "centos8-librdkafka.so", "alpine-librdkafka.so"];

    private static readonly Lock LoadLock = new();
    private static nint handle;

    static LibrdkafkaNative() => NativeLibrary.SetDllImportResolver(typeof(LibrdkafkaNative).Assembly, Resolve);

    /// <summary>The path of the native library that was loaded, for diagnostics.</summary>
    public static string? LoadedPath { get; private set; }

    private static nint Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (name != Library)
        {
            return 0;
        }

        lock (LoadLock)
        {
            if (handle != 0)
            {
                return handle;
            }

            // Confluent.Kafka loads first, its own way; the same search below then finds the same file, and the loader
            // hands back the image already mapped rather than a second copy.
            _ = Confluent.Kafka.Library.Version;
            var folders = new[]
            {
                Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native"),
                AppContext.BaseDirectory,
            };
            foreach (var folder in folders)
            {
                foreach (var file in Candidates)
                {
                    var path = Path.Combine(folder, file);
                    if (File.Exists(path) && NativeLibrary.TryLoad(path, out handle))
                    {
                        LoadedPath = path;
                        return handle;
                    }
                }
            }

            throw new DllNotFoundException(
                $"librdkafka not found under {AppContext.BaseDirectory}runtimes/linux-x64/native (it ships in the librdkafka.redist package).");
        }
    }

    internal const int ProducerType = 0;

    [LibraryImport(Library, EntryPoint = "rd_kafka_conf_new")]
    internal static partial nint ConfNew();

    [LibraryImport(Library, EntryPoint = "rd_kafka_conf_set", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int ConfSet(nint conf, string name, string value, byte[] errstr, nuint errstrSize);

    [LibraryImport(Library, EntryPoint = "rd_kafka_conf_destroy")]
    internal static partial void ConfDestroy(nint conf);

    [LibraryImport(Library, EntryPoint = "rd_kafka_new")]
    internal static partial nint KafkaNew(int type, nint conf, byte[] errstr, nuint errstrSize);

    [LibraryImport(Library, EntryPoint = "rd_kafka_destroy")]
    internal static partial void KafkaDestroy(nint rk);

    [LibraryImport(Library, EntryPoint = "rd_kafka_err2str")]
    internal static partial nint ErrorToString(int err);

    [LibraryImport(Library, EntryPoint = "rd_kafka_mock_cluster_new")]
    internal static partial nint MockClusterNew(nint rk, int brokerCount);

    [LibraryImport(Library, EntryPoint = "rd_kafka_mock_cluster_destroy")]
    internal static partial void MockClusterDestroy(nint mcluster);

    [LibraryImport(Library, EntryPoint = "rd_kafka_mock_cluster_bootstraps")]
    internal static partial nint MockClusterBootstraps(nint mcluster);

    [LibraryImport(Library, EntryPoint = "rd_kafka_mock_topic_create", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int MockTopicCreate(nint mcluster, string topic, int partitionCount, int replicationFactor);

    [LibraryImport(Library, EntryPoint = "rd_kafka_mock_group_initial_rebalance_delay_ms")]
    internal static partial void MockGroupInitialRebalanceDelayMs(nint mcluster, int delayMs);

    [LibraryImport(Library, EntryPoint = "rd_kafka_mock_broker_set_down")]
    internal static partial int MockBrokerSetDown(nint mcluster, int brokerId);

    [LibraryImport(Library, EntryPoint = "rd_kafka_mock_broker_set_up")]
    internal static partial int MockBrokerSetUp(nint mcluster, int brokerId);

    [LibraryImport(Library, EntryPoint = "rd_kafka_mock_broker_set_rtt")]
    internal static partial int MockBrokerSetRtt(nint mcluster, int brokerId, int rttMs);

    // The variadic rd_kafka_mock_push_request_errors cannot be called portably from C#; the _array form is the same.
    [LibraryImport(Library, EntryPoint = "rd_kafka_mock_push_request_errors_array")]
    internal static partial void MockPushRequestErrorsArray(nint mcluster, short apiKey, nuint count, int[] errors);

    [LibraryImport(Library, EntryPoint = "rd_kafka_mock_clear_request_errors")]
    internal static partial void MockClearRequestErrors(nint mcluster, short apiKey);

    [LibraryImport(Library, EntryPoint = "rd_kafka_mock_topic_set_error", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial void MockTopicSetError(nint mcluster, string topic, int error);

    [LibraryImport(Library, EntryPoint = "rd_kafka_mock_partition_delete_records", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int MockPartitionDeleteRecords(nint mcluster, string topic, int partition, long beforeOffset);

    internal static string Describe(int err) => Marshal.PtrToStringUTF8(ErrorToString(err)) ?? $"error {err}";
}
