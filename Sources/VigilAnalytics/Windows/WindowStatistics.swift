/// What `ShardWindowTable.add` did with a sample.
public enum WindowAddResult: Sendable, Hashable {
    /// Aggregated into its window.
    case accepted
    /// Not aggregated: its window is closed or closable (end <= watermark), or it cannot be placed at all
    /// (see ``WindowStatistics/late`` and ``WindowStatistics/rejected`` for which).
    case late
}

/// Counters of one shard's window table. Monotonic except ``openWindows``.
public struct WindowStatistics: Sendable, Hashable {
    /// Samples aggregated into a window.
    public var accepted: UInt64 = 0
    /// Samples whose window had ended at or before the watermark, and samples older than both open windows
    /// of their series (only possible when the watermark lags the data, which the engine's rule excludes).
    public var late: UInt64 = 0
    /// Samples refused outright: a timestamp in the first or last window of the Int64 range, or a window
    /// already holding `UInt32.max` samples.
    public var rejected: UInt64 = 0
    /// Counter decreases classified as a wrap past the modulus.
    public var wraps: UInt64 = 0
    /// Counter decreases classified as a restart from zero.
    public var resets: UInt64 = 0
    /// Counter samples not newer than the series' previous counter sample: aggregated, but no increase.
    public var outOfOrderCounterSamples: UInt64 = 0
    /// Counter samples more than ``WindowConfiguration/counterGapNanoseconds`` after the series' previous
    /// one: aggregated, but no increase is credited across the gap (the measurement starts again from them).
    public var counterGaps: UInt64 = 0
    /// Windows emitted by `closeWindows` or `closeAll`.
    public var windowsClosed: UInt64 = 0
    /// Windows that `add` had to close early because a series needed a third window (a batch spanning
    /// several windows before `closeWindows` ran, or a source whose clock runs ahead of the watermark, which
    /// a slower source holds back); they are emitted by the next close, oldest first.
    public var forcedCloses: UInt64 = 0
    /// Force-closed windows lost because the pending buffer (`maximumPendingWindows`) was full.
    public var droppedWindows: UInt64 = 0
    /// Windows open right now.
    public var openWindows: Int = 0

    public init() {}
}
