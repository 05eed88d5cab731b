import Benchmark
import Foundation
import VigilCore

/// Ring hand-off: `SPSCRing<SampleBatch>` between two threads, as between the router and a shard worker.
/// The benchmark thread takes a free batch from the recycling ring, stamps it full and pushes it forward; a
/// consumer thread pops it, reads it, empties it and pushes it back. One iteration is 1000 batches of 8192
/// samples, so the starred figures are per batch (a sample costs 1/8192 of that).
///
/// Only the hand-off is measured: filling the batch is the decoder's cost and reading it the shard's, both
/// benchmarked on their own. On a shared two-core machine this one depends on the scheduler most.
func ringBenchmarks() {
    let fixture = FixtureBox<RingHandOffFixture>()
    Benchmark(
        "ring/SampleBatch hand-off, forward and recycled (per batch)",
        configuration: .init(
            metrics: stageMetrics + [.contextSwitches],
            scalingFactor: .kilo,
            setup: { fixture.value = RingHandOffFixture() },
            teardown: {
                fixture.value?.stop()
                fixture.value = nil
            }
        )
    ) { benchmark in
        fixture.value!.produce(batchCount: 1000)
    }
}

final class RingHandOffFixture: @unchecked Sendable {
    static let poolSize = 8
    static let batchCapacity = 8192

    /// Router → shard: full batches. Producer: the benchmark thread; consumer: `consumer`.
    let forward = SPSCRing<SampleBatch>(capacity: poolSize)
    /// Shard → router: emptied batches. Producer: `consumer`; consumer: the benchmark thread.
    let recycled = SPSCRing<SampleBatch>(capacity: poolSize)
    /// Pushed forward once, by `stop()`: the consumer ends when it pops it.
    let stopBatch = SampleBatch(capacity: 1)
    let consumerFinished = DispatchSemaphore(value: 0)
    var eventTimeNanoseconds = SyntheticFleet.epochNanoseconds
    /// Written by the consumer thread only; read after `stop()`.
    var samplesConsumed = 0

    init() {
        // Before the consumer starts, so this thread is the recycling ring's only producer while it pushes.
        for _ in 0..<Self.poolSize {
            let pushed = recycled.tryPush(SampleBatch(capacity: Self.batchCapacity))
            precondition(pushed, "the recycling ring holds the whole pool")
        }
        let consumer = Thread { [self] in consume() }
        consumer.name = "bench-shard"
        consumer.start()
    }

    /// Producer side, on the benchmark thread: `batchCount` batches forward, each one taken back recycled.
    func produce(batchCount: Int) {
        for _ in 0..<batchCount {
            guard let batch = recycled.pop(while: { true }) else { preconditionFailure("pop(while: true) ended") }
            eventTimeNanoseconds &+= EventTime.nanosecondsPerSecond
            batch.timestamps[Self.batchCapacity - 1] = eventTimeNanoseconds
            batch.count = Self.batchCapacity
            batch.watermarkNanoseconds = eventTimeNanoseconds
            _ = forward.push(batch)
        }
    }

    /// Consumer side, on its own thread, until the stop batch arrives.
    private func consume() {
        var newestNanoseconds = Int64.min
        // Bounded by the producer: it ends with the stop batch.
        while true {
            guard let batch = forward.pop(while: { true }) else { preconditionFailure("pop(while: true) ended") }
            if batch === stopBatch { break }
            newestNanoseconds = max(newestNanoseconds, batch.timestamps[batch.count - 1], batch.watermarkNanoseconds)
            samplesConsumed &+= batch.count
            batch.removeAll()
            _ = recycled.push(batch)
        }
        blackHole(newestNanoseconds)
        consumerFinished.signal()
    }

    /// Ends the consumer thread and waits for it. Call once, from the producer's thread.
    func stop() {
        _ = forward.push(stopBatch)
        consumerFinished.wait()
    }
}
