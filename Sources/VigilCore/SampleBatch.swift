/// A struct-of-arrays batch of samples: the unit that crosses every stage boundary.
///
/// The columns are allocated once, at a fixed capacity, and reused: a batch travels from the decoder
/// to a shard and back to its producer through a pair of ``SPSCRing``s, so the hot path allocates
/// nothing. Only one thread touches a batch at a time; handing it over through a ring is the
/// synchronisation (the ring's release/acquire orders the column writes before the reader).
///
/// Besides the samples, a batch carries the producer's watermark at the time it was sent, so shards,
/// which each see only part of the stream, all close windows against the same event-time clock.
public final class SampleBatch: @unchecked Sendable {
    /// Event times, nanoseconds since the Unix epoch.
    public let timestamps: UnsafeMutablePointer<Int64>
    /// Engine-wide series ids (not wire ids).
    public let seriesIDs: UnsafeMutablePointer<SeriesID>
    public let values: UnsafeMutablePointer<Double>
    public let capacity: Int
    public var count: Int = 0
    /// Newest event time seen by the producer minus the allowed lateness, when the batch was sent.
    public var watermarkNanoseconds: Int64 = .min

    public init(capacity: Int) {
        precondition(capacity > 0, "a sample batch needs room for at least one sample")
        self.capacity = capacity
        self.timestamps = .allocate(capacity: capacity)
        self.seriesIDs = .allocate(capacity: capacity)
        self.values = .allocate(capacity: capacity)
    }

    deinit {
        timestamps.deallocate()
        seriesIDs.deallocate()
        values.deallocate()
    }

    @inlinable public var isFull: Bool { count == capacity }
    @inlinable public var isEmpty: Bool { count == 0 }
    @inlinable public var remainingCapacity: Int { capacity - count }

    /// Appends one sample. The caller checks `isFull` first; appending to a full batch is a programming error.
    @inlinable
    public func append(timestamp: Int64, seriesID: SeriesID, value: Double) {
        assert(count < capacity, "append to a full SampleBatch")
        timestamps[count] = timestamp
        seriesIDs[count] = seriesID
        values[count] = value
        count &+= 1
    }

    @inlinable
    public func removeAll() {
        count = 0
        watermarkNanoseconds = .min
    }
}
