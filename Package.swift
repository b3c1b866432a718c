// swift-tools-version:6.0
// affectd: emotion from video, served over HTTP. Module layout: see README.md ("Layout").
import PackageDescription

// Builds target Haswell-class x86-64 (AVX2 + FMA, i.e. x86-64-v3): every server CPU of the last decade has it, and
// baseline SSE2 codegen turns SIMD multiply-adds into libm calls (see docs/engine.md).
let cpuBaseline: [SwiftSetting] = [.unsafeFlags(["-Xcc", "-march=haswell", "-target-cpu", "haswell"])]

let package = Package(
    name: "affectd",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "affectd", targets: ["affectd"]),
        .executable(name: "affectd-bench", targets: ["affectd-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", exact: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", exact: "2.4.1"),
        .package(url: "https://github.com/jpsim/Yams", exact: "6.2.2"),
    ],
    targets: [
        // System libraries (module maps + tiny shims for macros Swift cannot import).
        .systemLibrary(
            name: "CFFmpeg", pkgConfig: "libavformat",
            providers: [
                .apt([
                    "libavformat-dev", "libavcodec-dev", "libavutil-dev",
                    "libswscale-dev", "libswresample-dev",
                ])
            ]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CEpoll"),  // epoll + eventfd headers (Linux), for the HTTP event loop
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),

        // Media: demux, decode, sample, convert. Knows nothing of models.
        .target(name: "Media", dependencies: ["CFFmpeg"], swiftSettings: cpuBaseline),

        // TensorAVX512: the GEMM tile in AVX-512, the one module built for Skylake-AVX512; Tensor
        // calls it only on CPUs that have AVX-512 (docs/engine.md), so the binary still runs on AVX2.
        .target(
            name: "TensorAVX512",
            swiftSettings: [
                .unsafeFlags(["-Xcc", "-march=skylake-avx512", "-target-cpu", "skylake-avx512"]),
                .unsafeFlags(["-Ounchecked"], .when(configuration: .release)),
            ]),

        // Tensor: the neural runtime (tensors, kernels on OpenBLAS, safetensors, manifest graphs) and
        // model packages (manifest + weight files, checked once at load; OpenSSL for their SHA-256).
        .target(
            name: "Tensor", dependencies: ["COpenBLAS", "COpenSSL", "TensorAVX512"],
            swiftSettings: cpuBaseline + [
                // Hot loops run on raw pointers; drop the remaining checks in release (docs/engine.md).
                .unsafeFlags(["-Ounchecked", "-enforce-exclusivity=unchecked"], .when(configuration: .release))
            ]),

        // HTTP: the socket server and the HTTP/1.1 parser. Knows nothing of emotion.
        .target(
            name: "HTTP", dependencies: ["CEpoll", "CZlib", "COpenSSL", .product(name: "Logging", package: "swift-log")],
            swiftSettings: cpuBaseline),

        // Affect: encoders, VA heads, temporal models, confidence, support-set labelling, result model and report.
        .target(name: "Affect", dependencies: ["Tensor"], swiftSettings: cpuBaseline),

        // Audio: the audio branch (voice activity with the package's VAD networks, prosody).
        .target(name: "Audio", dependencies: ["Tensor"], swiftSettings: cpuBaseline),

        // Vision: MTCNN face detection, fer face crop, person crop, tracking.
        .target(
            name: "Vision", dependencies: ["Tensor", "Media"],
            swiftSettings: cpuBaseline + [
                .unsafeFlags(["-Ounchecked"], .when(configuration: .release))
            ]),

        // Pipeline: media in, result out (decode thread, frame scheduler, collector, streaming estimates).
        .target(name: "Pipeline", dependencies: ["Media", "Tensor", "Vision", "Affect", "Audio"], swiftSettings: cpuBaseline),

        // Service: the REST API on HTTP (routes, job queue and workers, config, auth, metrics, JSON logs),
        // durable jobs in SQLite or PostgreSQL, signed webhooks (OpenSSL HMAC).
        .target(
            name: "Service",
            dependencies: [
                "HTTP", "Media", "Tensor", "Affect", "Pipeline", "CSQLite", "CLibPQ", "COpenSSL",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Yams", package: "Yams"),
            ], swiftSettings: cpuBaseline),

        // MediaCLI: the media flags and error reporting shared by the two executables.
        .target(
            name: "MediaCLI", dependencies: ["Media", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: cpuBaseline),

        // affectd: the shipped command line (serve, health, probe, frames, model, detect, analyze, label).
        .executableTarget(
            name: "affectd",
            dependencies: [
                "Media", "MediaCLI", "Tensor", "Vision", "Affect", "Pipeline", "Service",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ], swiftSettings: cpuBaseline),

        // OpCases: parity/benchmark case files (tools/reference/vectors.py) and timing one op from them.
        .target(name: "OpCases", dependencies: ["Tensor"], swiftSettings: cpuBaseline),

        // affectd-bench: developer tools, not shipped (bench-op, bench-net, bench-vad, decode-bench, http-echo).
        .executableTarget(
            name: "affectd-bench",
            dependencies: [
                "Media", "MediaCLI", "Tensor", "OpCases", "Vision", "HTTP", "Audio",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ], swiftSettings: cpuBaseline),

        // TestSupport: where tests find the repository's generated data (models/, .cache/), shared by every suite.
        .target(name: "TestSupport", dependencies: ["Tensor"], path: "Tests/TestSupport", swiftSettings: cpuBaseline),

        .testTarget(name: "MediaTests", dependencies: ["Media", "TestSupport"], swiftSettings: cpuBaseline),
        .testTarget(name: "TensorTests", dependencies: ["Tensor", "OpCases", "TestSupport"], swiftSettings: cpuBaseline),
        .testTarget(name: "HTTPTests", dependencies: ["HTTP", .product(name: "Logging", package: "swift-log")], swiftSettings: cpuBaseline),
        .testTarget(
            name: "ServiceTests",
            dependencies: ["Service", "Media", "Affect", "HTTP", "Pipeline", "Vision", "TestSupport", .product(name: "Logging", package: "swift-log")],
            swiftSettings: cpuBaseline
        ),
        .testTarget(name: "AffectTests", dependencies: ["Affect", "Tensor", "TestSupport"], swiftSettings: cpuBaseline),
        .testTarget(name: "AudioTests", dependencies: ["Audio", "Tensor", "TestSupport"], swiftSettings: cpuBaseline),
        .testTarget(name: "VisionTests", dependencies: ["Vision", "Media", "Tensor", "TestSupport"], swiftSettings: cpuBaseline),
        .testTarget(name: "PipelineTests", dependencies: ["Pipeline", "Affect", "Audio", "Media", "Vision", "TestSupport"], swiftSettings: cpuBaseline),
    ],
    swiftLanguageModes: [.v6]
)
