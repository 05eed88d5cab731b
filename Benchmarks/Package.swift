// swift-tools-version: 6.1
//
// Vigil's stage benchmarks (package-benchmark): a package of its own, as swift-nio does, so that its
// dependencies and its build stay out of `swift build` / `make test` of the root package.
//
// Run: `cd Benchmarks && swift package benchmark --target VigilStageBenchmarks` (see README.md).
import PackageDescription

/// SwiftPM names a path dependency after its directory, so the root package's identity is the name of the
/// folder holding this one (`vigil`, or a worktree's name): derived here rather than hard-coded.
let vigilPackage = String(Context.packageDirectory.split(separator: "/").dropLast().last ?? "vigil").lowercased()

let package = Package(
    name: "VigilBenchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        // The root package, for its stage libraries.
        .package(path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "VigilStageBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "VigilCore", package: vigilPackage),
                .product(name: "VigilWire", package: vigilPackage),
                .product(name: "VigilAnalytics", package: vigilPackage),
                .product(name: "VigilStore", package: vigilPackage),
            ],
            path: "Benchmarks/VigilStageBenchmarks",
            plugins: [
                .plugin(name: "BenchmarkPlugin", package: "benchmark")
            ]
        )
    ],
    swiftLanguageModes: [.v5]
)
