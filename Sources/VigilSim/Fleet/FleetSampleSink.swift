import VigilCore

/// Where the simulator's samples go: a wire encoder, a file, or a test's collector.
///
/// The simulator calls ``declare(series:)`` once, then ``consume(timestamps:wireIDs:values:)`` with batches
/// of whole sampling rounds in time order (within a round, wire ids increase). The buffers are the
/// simulator's own, reused for the next batch: valid only during the call.
public protocol FleetSampleSink {
    /// Every series, indexed by wire id.
    mutating func declare(series: [SeriesDescriptor]) throws
    mutating func consume(
        timestamps: UnsafeBufferPointer<Int64>,
        wireIDs: UnsafeBufferPointer<UInt32>,
        values: UnsafeBufferPointer<Double>
    ) throws
}
