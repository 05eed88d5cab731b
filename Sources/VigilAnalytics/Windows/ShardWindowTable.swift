import VigilCore

/// Event-time tumbling windows for every series of one shard: samples in, closed ``WindowAggregate``s out.
///
/// Shard `k` of `n` holds the series with `seriesID % n == k`, at local index `seriesID / n`, so the table
/// is a plain array. Each series has two fixed window slots (lateness <= width means at most two windows
/// are open at once; a window takes the slot of its parity when it is free) and its counter's previous
/// reading: ``memoryBytesPerSeries`` bytes, nothing allocated per window or per sample. Single-threaded:
/// one table per shard worker.
///
/// Semantics:
/// - A window is `[start, start + width)` with `start = floor(t / width) * width`.
/// - The table's watermark is the highest watermark passed to ``add(seriesID:timestamp:value:watermark:)``
///   or ``closeWindows(watermark:emit:)``, so it never goes back and a closed window never reopens.
/// - A sample is late when its window's end <= watermark: counted, never merged.
/// - Counters (`counter32`, `counter64`): each sample newer than the series' previous accepted counter sample
///   adds an increase (``CounterIncrease/classify(previous:current:kind:intervalSeconds:recentRatePerSecond:)``)
///   and its interval to the window of the later sample; `rate = Σ increase / Σ interval seconds`. Late samples
///   leave the counter state alone, so the next accepted sample measures the whole increase. Readings further
///   apart than ``WindowConfiguration/counterGapNanoseconds`` credit nothing (a gap: the measurement restarts).
/// - When a series needs a third window before `closeWindows` ran (a batch spanning windows, or a series
///   whose source's clock runs ahead of the watermark another source holds back), the older slot is closed by
///   `add` into a bounded pending buffer (``WindowStatistics/forcedCloses``). That window never reopens: the
///   series remembers its end (a later sample for it is late). The table's watermark is left alone, so the
///   other series' windows stay open for their own sources.
///
/// Emission order: force-closed windows first, then by local index; per series always by window start.
public struct ShardWindowTable {
    /// Width, range bounds and shard arithmetic: fixed at init.
    @usableFromInline let _configuration: WindowConfiguration
    @usableFromInline let _windowNanoseconds: Int64
    @usableFromInline let _shardIndex: Int
    /// Local index of a series id, by multiplication.
    @usableFromInline let _shards: ShardArithmetic
    /// Per-series states by local index, 64-byte aligned; `_seriesCount` of them initialised.
    /// Copy on write: a copied table shares it until either copy mutates.
    @usableFromInline var _storage: _SeriesWindowStorage
    /// Initialised states: `max local index registered + 1`.
    @usableFromInline var _seriesCount: Int = 0
    /// Windows closed by `add`, emitted by the next close. Capacity reserved up front; never grown.
    @usableFromInline var _pending: [WindowAggregate]
    @usableFromInline var _watermarkNanoseconds: Int64 = .min
    /// Lowest end among open windows (a lower bound after forced closes); `Int64.max` when none.
    @usableFromInline var _earliestOpenEndNanoseconds: Int64 = .max
    @usableFromInline var _statistics = WindowStatistics()

    /// - Parameters:
    ///   - configuration: window width, lateness, pending-buffer size.
    ///   - shardIndex: this shard, `0..<shardCount`.
    ///   - shardCount: number of shards (>= 1, <= 2^32).
    ///   - initialSeriesCapacity: series slots reserved up front (the table grows past it on registration).
    public init(configuration: WindowConfiguration, shardIndex: Int, shardCount: Int, initialSeriesCapacity: Int) {
        precondition(shardIndex >= 0 && shardIndex < shardCount, "shardIndex \(shardIndex) not in 0..<\(shardCount)")
        precondition(initialSeriesCapacity >= 0, "initialSeriesCapacity must be >= 0")
        _configuration = configuration
        _windowNanoseconds = configuration.windowNanoseconds
        _shardIndex = shardIndex
        _shards = ShardArithmetic(shardCount: shardCount)
        _SeriesWindowState.checkLayout()
        _storage = _SeriesWindowStorage(capacity: initialSeriesCapacity)
        _pending = []
        _pending.reserveCapacity(configuration.maximumPendingWindows)
    }

    public var configuration: WindowConfiguration { _configuration }

    /// The table's watermark: the highest one it was given (or raised to by a forced close or `closeAll`).
    public var watermarkNanoseconds: Int64 { _watermarkNanoseconds }

    public var statistics: WindowStatistics { _statistics }

    /// Bytes one registered series costs in this table (its state's stride, its flags and slot-tag
    /// bytes), for the memory budget.
    public var memoryBytesPerSeries: Int { MemoryLayout<_SeriesWindowState>.stride + 2 }

    /// Number of local slots (registered or not) the table holds: `max local index + 1`.
    public var localSeriesCapacity: Int { _seriesCount }

    /// Gives this table its own storage if a copy of it shares the current one. O(1) when unique.
    @inlinable
    mutating func _makeUnique() {
        if !isKnownUniquelyReferenced(&_storage) {
            _storage = _storage.copy(count: _seriesCount, capacity: _storage._capacity)
        }
    }

    @inlinable
    func _localIndex(of seriesID: SeriesID) -> Int { _shards.localIndex(of: seriesID) }

    @inlinable
    func _seriesID(localIndex: Int) -> SeriesID {
        _shards.seriesID(localIndex: localIndex, shard: _shardIndex)
    }

    /// Makes room for `id` and records its kind. Cold path: once per series.
    ///
    /// Registering again with the same kind does nothing; with another kind, the kind changes and the
    /// counter state restarts (open windows keep what they have).
    /// - Precondition: `id % shardCount == shardIndex`.
    /// - Complexity: amortised O(1); O(local index) when the storage grows (it doubles).
    public mutating func registerSeries(_ id: SeriesID, kind: MetricKind) {
        precondition(
            _shards.shard(of: id) == _shardIndex,
            "series \(id) belongs to shard \(_shards.shard(of: id)), not \(_shardIndex) of \(_shards.shardCount)"
        )
        _makeUnique()
        let localIndex = _localIndex(of: id)
        if localIndex >= _seriesCount {
            if localIndex >= _storage._capacity {
                // Doubling keeps registration amortised O(1); local indices are < 2^32, so this is bounded.
                let capacity = max(localIndex + 1, 2 * _storage._capacity)
                _storage = _storage.copy(count: _seriesCount, capacity: capacity)
            }
            (_storage._states + _seriesCount).initialize(
                repeating: _SeriesWindowState(),
                count: localIndex + 1 - _seriesCount
            )
            (_storage._flags + _seriesCount).initialize(repeating: 0, count: localIndex + 1 - _seriesCount)
            (_storage._slotTags + _seriesCount).initialize(repeating: 0, count: localIndex + 1 - _seriesCount)
            _seriesCount = localIndex + 1
        }
        let flags = _SeriesWindowState.registeredFlag | kind.rawValue
        let previousFlags = _storage._flags[localIndex]
        if previousFlags == flags { return }
        _storage._flags[localIndex] = flags
        if previousFlags & _SeriesWindowState.kindMask == 0 && kind.isCounter {
            // Was a gauge (or new): a slot whose window opened while it was a gauge has no sums of its own
            // (`_open` leaves a gauge's counter line alone); nothing was credited to it since it opened, so
            // its sums start from zero here and are its own from now on. A window that already has its own
            // sums (credited while the series was a counter before) keeps them.
            let state = _storage._states + localIndex
            if !state.pointee.firsts.hasCounterSums0 {
                state.pointee.counter.increase0 = 0
                state.pointee.counter.intervalNanoseconds0 = 0
                state.pointee.firsts.hasCounterSums0 = true
            }
            if !state.pointee.firsts.hasCounterSums1 {
                state.pointee.counter.increase1 = 0
                state.pointee.counter.intervalNanoseconds1 = 0
                state.pointee.firsts.hasCounterSums1 = true
            }
        }
        // The counter restarts; open windows keep the increases already credited to them.
        let fresh = _CounterState()
        _storage._states[localIndex].counter.previousTimestamp = fresh.previousTimestamp
        _storage._states[localIndex].counter.recentIncrease = fresh.recentIncrease
        _storage._states[localIndex].counter.recentIntervalNanoseconds = fresh.recentIntervalNanoseconds
    }

    /// Whether `id` belongs to this shard and was registered.
    /// - Complexity: O(1).
    @inlinable
    public func isRegistered(_ id: SeriesID) -> Bool {
        let localIndex = _localIndex(of: id)
        guard Int(id) &- localIndex &* _shards.shardCount == _shardIndex else { return false }
        return localIndex < _seriesCount && _storage._flags[localIndex] & _SeriesWindowState.registeredFlag != 0
    }
}
