import Benchmark

/// Vigil's stage benchmarks: one per pipeline stage of docs/architecture.md, each feeding its stage the
/// batches it sees in the engine. Iterations are scaled (`scalingFactor`) so that the starred figures of the
/// output are per sample (or per batch, per window, per row: each benchmark says which).
let benchmarks: @Sendable () -> Void = {
    harnessBenchmarks()
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

/// The harness's own floor: an iteration that does nothing. Its unscaled mallocs (16 per iteration with the
/// malloc interposer on Linux, from the harness's measurement bookkeeping, whatever the iteration does) are what
/// every other benchmark's unscaled figure includes; `--allocation-stacks` shows the stage code's own, 0 on the
/// hot paths.
func harnessBenchmarks() {
    Benchmark("harness/empty iteration (the floor under every figure)", configuration: .init(metrics: stageMetrics)) {
        benchmark in
        blackHole(benchmark.currentIteration)
    }
}
