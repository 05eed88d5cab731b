// swift-tools-version: 6.1
//
// Vigil: a streaming telemetry analytics engine.
// Module layers (docs/architecture.md): dependencies point down this list only.
//   vigil → VigilEngine → {VigilWire, VigilAnalytics, VigilStore, VigilSim} → VigilCore → CVigilNative
//   VigilStore, VigilEngine → CZstd (system libzstd)
import PackageDescription

/// The shards' per-series state is reached through class-held arrays once per sample or window; Swift's
/// dynamic exclusivity checks on those accesses cost ~5 % of the engine (perf). Static exclusivity is still
/// enforced at compile time, and each shard's state is confined to its own thread by design.
let perSampleStateSettings: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"])]

let package = Package(
    name: "Vigil",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "vigil", targets: ["vigil"]),
        .library(name: "VigilEngine", targets: ["VigilEngine"]),
        // The stage libraries, for the package-benchmark suites in Benchmarks/ (a separate package).
        .library(name: "VigilCore", targets: ["VigilCore"]),
        .library(name: "VigilWire", targets: ["VigilWire"]),
        .library(name: "VigilAnalytics", targets: ["VigilAnalytics"]),
        .library(name: "VigilStore", targets: ["VigilStore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-atomics", from: "1.3.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CZstd",
            path: "Sources/CZstd",
            pkgConfig: "libzstd",
            providers: [.apt(["libzstd-dev"])]
        ),
        .target(
            name: "CVigilNative",
            path: "Sources/CVigilNative",
            cSettings: [.unsafeFlags(["-O3"])]
        ),
        .target(
            name: "VigilCore",
            dependencies: [
                "CVigilNative",
                .product(name: "Atomics", package: "swift-atomics"),
            ]
        ),
        .target(
            name: "VigilWire",
            dependencies: ["VigilCore"],
            // The flow decoders are generic over their consumer; callers in other modules (the engine,
            // `vigil inspect`) get them specialised only when their bodies cross the module boundary.
            // Unspecialised, every record went through witness tables and was copied: 1,200 instructions per
            // v9 record against ~400 specialised.
            swiftSettings: [.unsafeFlags(["-cross-module-optimization"])]
        ),
        .target(
            name: "VigilAnalytics",
            dependencies: ["VigilCore", "CVigilNative"],
            swiftSettings: perSampleStateSettings
        ),
        .target(name: "VigilStore", dependencies: ["VigilCore", "CZstd"]),
        .target(name: "VigilSim", dependencies: ["VigilCore", "VigilWire"]),
        .target(
            name: "VigilEngine",
            dependencies: [
                "VigilCore", "VigilWire", "VigilAnalytics", "VigilStore", "VigilSim", "CZstd", "CVigilNative",
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: perSampleStateSettings
        ),
        .executableTarget(
            name: "vigil",
            dependencies: [
                "VigilEngine", "VigilWire", "VigilCore", "VigilAnalytics", "VigilStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "VigilCoreTests", dependencies: ["VigilCore"]),
        .testTarget(name: "VigilCLITests", dependencies: ["VigilCore", "VigilWire"]),
        .testTarget(name: "VigilAnalyticsTests", dependencies: ["VigilAnalytics", "VigilCore"]),
        .testTarget(name: "VigilStoreTests", dependencies: ["VigilStore", "VigilCore"]),
        .testTarget(name: "VigilWireTests", dependencies: ["VigilWire", "VigilCore"]),
        .testTarget(
            name: "VigilEngineTests",
            dependencies: [
                "VigilEngine", "VigilAnalytics", "VigilWire", "VigilCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Atomics", package: "swift-atomics"),
            ]
        ),
        .testTarget(name: "VigilSimTests", dependencies: ["VigilSim", "VigilEngine", "CZstd"]),
    ],
    swiftLanguageModes: [.v5]
)
