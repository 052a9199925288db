// swift-tools-version:6.0
// The package layout is the architecture: C libraries are wrapped once (C* system targets + one
// Swift wrapper each), pure logic (Scheduler, Engine, DataShards) depends on no I/O it cannot inject,
// and the daemons/CLI sit on top.
import PackageDescription

let package = Package(
    name: "llm-ops",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "opsctl", targets: ["opsctl"]),
        // The data stream behind a C ABI for foreign readers (the Python SDK's llmops.data): docs/python.md.
        .library(name: "LLMOpsStreamC", type: .dynamic, targets: ["LLMOpsStreamC"]),
    ],
    targets: [
        // MARK: C libraries (Debian -dev packages), reached only through their wrapper modules.
        .systemLibrary(
            name: "CPostgres", path: "Sources/CPostgres", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(
            name: "CCurl", path: "Sources/CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(
            name: "CMicroHTTPD", path: "Sources/CMicroHTTPD", pkgConfig: "libmicrohttpd",
            providers: [.apt(["libmicrohttpd-dev"])]),
        .systemLibrary(name: "CYAML", path: "Sources/CYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),
        .systemLibrary(
            name: "COpenBLAS", path: "Sources/COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CZstd", path: "Sources/CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(
            name: "CCrypto", path: "Sources/CCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        // Not a library: one header with a compiler builtin (prefetch) that Swift cannot spell.
        .systemLibrary(name: "CCPUHints", path: "Sources/CCPUHints"),

        // MARK: Swift-native wrappers, one per C library.
        .target(name: "Postgres", dependencies: ["CPostgres", "Primitives", "Spawn"]),
        .target(name: "HTTPClient", dependencies: ["CCurl", "Primitives"]),
        .target(name: "HTTPServer", dependencies: ["CMicroHTTPD", "Primitives"]),
        .target(name: "YAML", dependencies: ["CYAML"]),
        .target(name: "BLAS", dependencies: ["COpenBLAS"]),
        .target(name: "Zstd", dependencies: ["CZstd", "Primitives"]),
        .target(name: "Gzip", dependencies: ["CZlib", "Primitives"]),

        // MARK: Domain libraries.
        // Shared primitives (a locked value, SplitMix64, exponential backoff, chunked parallel loops): no dependencies.
        .target(name: "Primitives"),
        // Child processes with posix_spawn and waitpid: no descriptor leaks between concurrently started children.
        .target(name: "Spawn", dependencies: ["Primitives"]),
        .target(name: "ClusterModel", dependencies: ["Primitives"], exclude: ["README.md"]),
        // SHA-256 (libcrypto's, the one wrapper of CCrypto): shards, checkpoints and artifacts are identified by checksum.
        .target(name: "Checksum", dependencies: ["CCrypto", "Primitives"]),
        .target(name: "APITypes", dependencies: ["ClusterModel", "YAML", "Primitives", "NearDedup"]),
        .target(name: "Scheduler", dependencies: ["ClusterModel", "Primitives"], exclude: ["README.md"]),
        .target(
            name: "DataShards", dependencies: ["Zstd", "Gzip", "HTTPClient", "Checksum", "CCPUHints", "Primitives"]),
        .target(name: "Engine", dependencies: ["BLAS", "Checksum", "Primitives"]),
        .target(name: "LLMOpsStreamC", dependencies: ["DataShards", "Primitives"], exclude: ["llmops_stream.h"]),
        // MinHash LSH near-duplicates and n-gram decontamination: pure parts plus bounded on-disk sorting (docs/dedup.md).
        .target(name: "NearDedup", dependencies: ["Primitives"]),
        // Object storage for nodes that share no disk: the ObjectStore protocol and its S3 backend (SigV4 over HTTPClient).
        .target(name: "ObjectStore", dependencies: ["HTTPClient", "Checksum", "Primitives"]),
        // The HTTP client of the REST API (the worker protocol and the admin API), shared by the worker and opsctl.
        .target(name: "APIClient", dependencies: ["APITypes", "ClusterModel", "HTTPClient", "Primitives"]),
        .target(
            name: "Workers",
            dependencies: [
                "Primitives", "APITypes", "APIClient", "ClusterModel", "HTTPClient", "DataShards", "Engine", "Checksum",
                "ObjectStore", "NearDedup", "Spawn",
            ]),
        .target(
            name: "Control",
            dependencies: [
                "Primitives", "APITypes", "ClusterModel", "Scheduler", "Postgres", "HTTPServer", "Checksum",
                "DataShards", "Engine", "ObjectStore", "Spawn",
            ]),
        // The CLI: the command table, parsing and every command of `opsctl`, as a library so that it is unit-tested.
        .target(
            name: "OpsCommandLine",
            dependencies: [
                "Primitives", "APITypes", "APIClient", "ClusterModel", "Control", "Workers", "Postgres", "YAML",
                "Engine", "ObjectStore", "HTTPClient", "Spawn",
            ]),

        // MARK: Executables.
        .executableTarget(name: "opsctl", dependencies: ["OpsCommandLine"]),
        // What the benchmarks share (their command lines, clocks, synthetic corpus); only benchmarks depend on it.
        .target(
            name: "BenchmarkSupport", dependencies: ["DataShards", "Primitives"], path: "Benchmarks/BenchmarkSupport"),
        .executableTarget(
            name: "SchedulerBench", dependencies: ["Scheduler", "ClusterModel"], path: "Benchmarks/SchedulerBench"),
        .executableTarget(
            name: "TokenizerBench", dependencies: ["DataShards", "Zstd"], path: "Benchmarks/TokenizerBench",
            exclude: ["reference_bench.py"]),
        .executableTarget(
            name: "DedupBench", dependencies: ["NearDedup", "DataShards"], path: "Benchmarks/DedupBench",
            exclude: ["datatrove_bench.py"]),
        .executableTarget(
            name: "ChecksumBench", dependencies: ["Checksum", "BenchmarkSupport"], path: "Benchmarks/ChecksumBench"),
        .executableTarget(
            name: "StreamBench", dependencies: ["DataShards", "BenchmarkSupport"], path: "Benchmarks/StreamBench"),
        .executableTarget(
            name: "PythonDataBench", dependencies: ["DataShards", "BenchmarkSupport"],
            path: "Benchmarks/PythonDataBench"),
        .executableTarget(
            name: "RemoteStreamBench", dependencies: ["DataShards", "HTTPServer", "BenchmarkSupport"],
            path: "Benchmarks/RemoteStreamBench"),
        .executableTarget(
            name: "EngineBench", dependencies: ["Engine", "BLAS", "Primitives"], path: "Benchmarks/EngineBench",
            exclude: ["torch_reference.py"]),
        .executableTarget(
            name: "DiLoCoBench", dependencies: ["Engine", "DataShards", "Primitives", "BenchmarkSupport"],
            path: "Benchmarks/DiLoCoBench"),
        .executableTarget(
            name: "ObjectStoreBench", dependencies: ["ObjectStore", "Checksum", "TestSupport", "BenchmarkSupport"],
            path: "Benchmarks/ObjectStoreBench"),
        .executableTarget(
            name: "StorageBench",
            dependencies: [
                "Control", "Workers", "ObjectStore", "DataShards", "HTTPClient", "APIClient", "TestSupport",
                "BenchmarkSupport",
            ],
            path: "Benchmarks/StorageBench"),
        .executableTarget(name: "HTTPBench", dependencies: ["HTTPServer", "HTTPClient"], path: "Benchmarks/HTTPBench"),
        .executableTarget(
            name: "StoreBench",
            dependencies: ["Control", "Postgres", "TestSupport", "ClusterModel", "BenchmarkSupport"],
            path: "Benchmarks/StoreBench"),
        .executableTarget(
            name: "HistoryBench",
            dependencies: ["Control", "Postgres", "TestSupport", "ClusterModel", "BenchmarkSupport"],
            path: "Benchmarks/HistoryBench"),
        .executableTarget(
            name: "ControlBench",
            dependencies: [
                "Control", "Workers", "APIClient", "APITypes", "HTTPClient", "Postgres", "TestSupport",
                "BenchmarkSupport",
            ],
            path: "Benchmarks/ControlBench"),
        .executableTarget(
            name: "FloodBench", dependencies: ["Control", "APITypes", "Postgres", "TestSupport"],
            path: "Benchmarks/FloodBench"),
        .executableTarget(
            name: "MetricsBench",
            dependencies: ["Control", "Postgres", "HTTPClient", "TestSupport", "BenchmarkSupport"],
            path: "Benchmarks/MetricsBench"),
        .executableTarget(
            name: "DashboardBench",
            dependencies: [
                "Control", "APITypes", "ClusterModel", "HTTPClient", "Postgres", "TestSupport", "BenchmarkSupport",
            ],
            path: "Benchmarks/DashboardBench"),

        // MARK: Test support: real throwaway PostgreSQL, process helpers.
        .target(name: "TestSupport", dependencies: ["Postgres", "Primitives", "Spawn"]),

        // MARK: Tests, beside the module they test.
        .testTarget(name: "PostgresTests", dependencies: ["Postgres", "TestSupport"]),
        .testTarget(name: "HTTPTests", dependencies: ["HTTPServer", "HTTPClient", "TestSupport", "Primitives"]),
        .testTarget(name: "YAMLTests", dependencies: ["YAML", "Primitives"]),
        .testTarget(name: "CompressionTests", dependencies: ["Zstd", "Gzip"]),
        .testTarget(name: "ClusterModelTests", dependencies: ["ClusterModel"]),
        .testTarget(name: "ChecksumTests", dependencies: ["Checksum"]),
        .testTarget(name: "APITypesTests", dependencies: ["APITypes", "Primitives"]),
        .testTarget(name: "SchedulerTests", dependencies: ["Scheduler", "ClusterModel"]),
        .testTarget(
            name: "DataShardsTests",
            dependencies: ["DataShards", "Primitives", "TestSupport", "HTTPServer", "HTTPClient", "Checksum"],
            exclude: ["Fixtures/tokenizer"]),
        .testTarget(name: "EngineTests", dependencies: ["Engine", "BLAS", "TestSupport", "Primitives"]),
        .testTarget(name: "PrimitivesTests", dependencies: ["Primitives"]),
        .testTarget(name: "SpawnTests", dependencies: ["Spawn", "Primitives"]),
        .testTarget(name: "NearDedupTests", dependencies: ["NearDedup", "Primitives"]),
        .testTarget(
            name: "WorkersTests",
            dependencies: ["Workers", "APIClient", "TestSupport", "HTTPServer", "DataShards", "Zstd", "Gzip", "Engine"]),
        .testTarget(
            name: "OpsCommandLineTests",
            dependencies: ["OpsCommandLine", "Control", "ClusterModel", "TestSupport", "YAML"]),
        .testTarget(
            name: "ControlTests",
            dependencies: [
                "Control", "Workers", "APIClient", "APITypes", "HTTPClient", "Postgres", "TestSupport", "DataShards",
                "Zstd", "Gzip", "ObjectStore", "HTTPServer", "NearDedup",
                "OpsCommandLine", "YAML", "Spawn",
            ]),
        .testTarget(
            name: "ObjectStoreTests",
            dependencies: ["ObjectStore", "HTTPServer", "HTTPClient", "Checksum", "Primitives", "TestSupport"],
            exclude: ["Fixtures"]),
    ]
)
