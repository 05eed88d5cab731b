/// Counters of a ``NativeStreamDecoder``: a value snapshot for the run summary and self-metrics.
public struct NativeDecoderStatistics: Sendable, Equatable {
    /// Schema frames whose entries were declared.
    public var schemaFrames: Int = 0
    /// Data frames passed to the delegate (including empty ones).
    public var dataFrames: Int = 0
    /// Numbered frames skipped because the delegate said they were retries of frames already taken.
    public var framesSkippedAsRetries: Int = 0
    /// Schema entries declared.
    public var schemaEntries: Int = 0
    /// Samples in the data frames passed to the delegate.
    public var samples: Int = 0
    /// Every byte the decoder has consumed: delivered frames, skipped frames, garbage and a truncated tail.
    public var bytesConsumed: Int64 = 0
    /// The part of ``bytesConsumed`` that was not delivered: garbage, rejected frames, a truncated tail.
    public var bytesSkipped: Int64 = 0
    /// Errors by ``NativeDecodeError/Kind`` raw value; read through ``errorCount(_:)``.
    @usableFromInline var _errorCounts: [Int] = Array(repeating: 0, count: NativeDecodeError.Kind.allCases.count)

    public init() {}

    /// How many errors of `kind` the decoder has reported.
    public func errorCount(_ kind: NativeDecodeError.Kind) -> Int { _errorCounts[kind.rawValue] }

    /// All errors reported, of every kind.
    public var totalErrors: Int { _errorCounts.reduce(0, +) }

    @inlinable
    mutating func _count(_ kind: NativeDecodeError.Kind) {
        _errorCounts[kind.rawValue] &+= 1
    }
}
