import Benchmark

/// Vigil's stage benchmarks: one per pipeline stage of docs/architecture.md, each feeding its stage the
/// batches it sees in the engine. Iterations are scaled (`scalingFactor`) so that the starred figures of the
/// output are per sample (or per batch, per window, per row: each benchmark says which).
let benchmarks: @Sendable () -> Void = {
    decodeBenchmarks()
    ringBenchmarks()
    windowBenchmarks()
    detectorBenchmarks()
    segmentBenchmarks()
}

/// What every stage reports: time and throughput, and allocations, which must be zero on the hot paths.
let stageMetrics: [BenchmarkMetric] = [.throughput, .wallClock, .mallocCountTotal, .instructions]

/// Holds a benchmark's fixture from its setup to its teardown, so that set-up cost (and memory) is paid only
/// by the benchmarks that run, and freed before the next one.
final class FixtureBox<Fixture>: @unchecked Sendable {
    var value: Fixture?
}
