import VigilCore

/// Weighted Space-Saving heavy hitters (Metwally, Agrawal, El Abbadi, "Efficient computation of frequent and
/// top-k elements in data streams", ICDT 2005) over ``FlowKey``s, weighted by bytes.
///
/// `capacity` counters, each a key, its count and its error: a key already counted adds its weight; a new
/// key takes a free counter (error 0), or, when all are taken, replaces the key with the smallest count
/// `c_min` and starts at `c_min + weight` with error `c_min`. Every count is an overestimate by at most its
/// error: true ∈ `count - error ... count`; a key not held has at most `c_min` (0 while counters are free,
/// so with at most `capacity` distinct keys every count is exact); and `c_min ≤ totalWeight / capacity`.
///
/// Memory is fixed at init: `capacity × 68` bytes of counters plus a 2-byte open-addressing index of the
/// next power of two ≥ 4 × capacity slots (about 76 bytes per counter). Updates allocate nothing and take
/// O(1) expected for the lookup plus O(log capacity) to restore the min-heap of counts.
///
/// Not thread-safe; one owner.
public final class SpaceSavingSketch {
    /// Counters, 1...``maximumCapacity``.
    public let capacity: Int
    public static let maximumCapacity = 16_384

    @usableFromInline let _tableMask: Int
    @usableFromInline let _keys: UnsafeMutablePointer<FlowKey>
    @usableFromInline let _hashes: UnsafeMutablePointer<UInt64>
    /// Counts in heap order (`_heapCounts[i]` is the count of slot `_heap[i]`), so the heap repair reads
    /// contiguous words instead of chasing slots: an eviction's sift-down was a fifth of the engine's time.
    @usableFromInline let _heapCounts: UnsafeMutablePointer<UInt64>
    @usableFromInline let _errors: UnsafeMutablePointer<UInt64>
    /// Min-heap of counter slots by count: `_heap[0]` is the smallest.
    @usableFromInline let _heap: UnsafeMutablePointer<UInt16>
    /// Where each slot sits in `_heap`.
    @usableFromInline let _heapPosition: UnsafeMutablePointer<UInt16>
    /// Open addressing, linear probing: 0 empty, else slot + 1.
    @usableFromInline let _table: UnsafeMutablePointer<UInt16>
    @usableFromInline var _count = 0
    @usableFromInline var _totalWeight: UInt64 = 0
    /// Counters in use.
    public var count: Int { _count }
    /// Sum of every weight added (saturating).
    public var totalWeight: UInt64 { _totalWeight }

    /// - Parameter capacity: counters, 1...16,384. With `capacity` k, any key with more than
    ///   `totalWeight / k` is held, and an estimate is at most `totalWeight / k` too high.
    public init(capacity: Int) {
        precondition((1...Self.maximumCapacity).contains(capacity), "capacity must be 1...\(Self.maximumCapacity)")
        self.capacity = capacity
        var tableSize = 4
        while tableSize < 4 * capacity { tableSize <<= 1 }
        _tableMask = tableSize - 1
        _keys = .allocate(capacity: capacity)
        _hashes = .allocate(capacity: capacity)
        _heapCounts = .allocate(capacity: capacity)
        _errors = .allocate(capacity: capacity)
        _heap = .allocate(capacity: capacity)
        _heapPosition = .allocate(capacity: capacity)
        _table = .allocate(capacity: tableSize)
        _table.initialize(repeating: 0, count: tableSize)
    }

    deinit {
        _keys.deallocate()
        _hashes.deallocate()
        _heapCounts.deallocate()
        _errors.deallocate()
        _heap.deallocate()
        _heapPosition.deallocate()
        _table.deallocate()
    }

    /// Forgets every key (O(table size): a 2-byte store per index slot).
    public func reset() {
        _table.update(repeating: 0, count: _tableMask + 1)
        _count = 0
        _totalWeight = 0
    }

    /// The smallest count held when every counter is taken, else 0: the most a key not held can have had.
    @inlinable
    public var absentBound: UInt64 { _count < capacity ? 0 : _heapCounts[0] }

    /// The count of counter `slot`.
    @inlinable
    func _countOf(_ slot: Int) -> UInt64 { _heapCounts[Int(_heapPosition[slot])] }

    /// The counter `add` used: its slot, and whether the key is new there (a free counter or a replaced key),
    /// so state kept per slot (a destination's distinct-source registers) can be started afresh.
    public struct Placement: Sendable {
        public var slot: Int
        public var isNew: Bool

        @inlinable
        public init(slot: Int, isNew: Bool) {
            self.slot = slot
            self.isNew = isNew
        }
    }

    /// Adds `weight` to `key`.
    ///
    /// - Parameters:
    ///   - key: the key.
    ///   - hash: `key.hash64` (or another hash that is a function of the key alone), passed in so a caller
    ///     deriving several keys from one record hashes each address once.
    ///   - weight: bytes; the total saturates at `UInt64.max`.
    /// - Returns: where the key is counted.
    /// Complexity: O(1) expected lookup, O(log capacity) heap repair.
    @inlinable
    @discardableResult
    public func add(_ key: FlowKey, hash: UInt64, weight: UInt64) -> Placement {
        _addTotal(weight)
        let index: Int
        switch _find(key, hash: hash) {
        case .held(let slot):
            _addToCount(slot, weight)
            return Placement(slot: slot, isNew: false)
        case .absent(let free): index = free
        }
        if _count < capacity { return Placement(slot: _take(key, hash: hash, weight: weight, at: index), isNew: true) }
        // Replace the smallest: its count becomes the newcomer's error.
        return Placement(slot: _replaceSmallest(key, hash: hash, count: _heapCounts[0], weight: weight), isNew: true)
    }

    /// Adds `weight` to `key` if a counter holds it; otherwise changes nothing. The first pass of a batch of
    /// keys summed exactly (a tally's fold): it evicts nothing, so the keys it leaves were absent before the
    /// batch, which ``addAbsent(_:hash:weight:priorBound:)`` relies on.
    /// - Returns: whether `key` was held (and `weight` added).
    @inlinable
    public func addIfHeld(_ key: FlowKey, hash: UInt64, weight: UInt64) -> Bool {
        guard case .held(let slot) = _find(key, hash: hash) else { return false }
        _addTotal(weight)
        _addToCount(slot, weight)
        return true
    }

    /// Adds `weight` to `key`, the second pass of a batch: `key` was not held when `priorBound` (the
    /// ``absentBound`` then) was read, before the batch's ``addIfHeld(_:hash:weight:)`` pass, and occurs
    /// once in the batch.
    ///
    /// Such a key had at most `priorBound` before the batch. So, when every counter is taken, it starts at
    /// `priorBound + weight` with error `priorBound` (no more than Space-Saving's smallest count, and as
    /// honest), and only if that exceeds the smallest count; otherwise it is left out, its total at most
    /// the smallest count, as for a key replaced. Every replaced count is at least `priorBound`, so the
    /// counts still sum to at most ``totalWeight`` and the smallest stays ≤ total / capacity. A key evicted
    /// in this pass is never passed again (the batch's keys are distinct), so its count stays its bound.
    ///
    /// Complexity: O(1) expected lookup, O(log capacity) heap repair when it takes a counter.
    @inlinable
    public func addAbsent(_ key: FlowKey, hash: UInt64, weight: UInt64, priorBound: UInt64) {
        _addTotal(weight)
        switch _find(key, hash: hash) {
        case .held(let slot): _addToCount(slot, weight)  // Not the contract's case; counted as `add` would.
        case .absent(let index):
            if _count < capacity {
                _ = _take(key, hash: hash, weight: weight, at: index)
            } else if priorBound &+ weight > _heapCounts[0] || priorBound &+ weight < priorBound {
                _ = _replaceSmallest(key, hash: hash, count: priorBound, weight: weight)
            }
        }
    }

    @usableFromInline
    enum _Lookup {
        /// The key's counter slot.
        case held(Int)
        /// The index slot where the key would go.
        case absent(Int)
    }

    @inlinable
    func _find(_ key: FlowKey, hash: UInt64) -> _Lookup {
        var index = Int(truncatingIfNeeded: hash) & _tableMask
        while true {
            let entry = Int(_table[index])
            if entry == 0 { return .absent(index) }
            if _hashes[entry - 1] == hash && _keys[entry - 1] == key { return .held(entry - 1) }
            index = (index + 1) & _tableMask
        }
    }

    @inlinable
    func _addTotal(_ weight: UInt64) {
        let (total, totalOverflow) = _totalWeight.addingReportingOverflow(weight)
        _totalWeight = totalOverflow ? .max : total
    }

    @inlinable
    func _addToCount(_ slot: Int, _ weight: UInt64) {
        let position = Int(_heapPosition[slot])
        let (sum, overflow) = _heapCounts[position].addingReportingOverflow(weight)
        _heapCounts[position] = overflow ? .max : sum
        _siftDown(position)
    }

    /// Puts `key` in the next free counter, at index slot `index`; returns the counter's slot.
    @inlinable
    func _take(_ key: FlowKey, hash: UInt64, weight: UInt64, at index: Int) -> Int {
        let slot = _count
        _count += 1
        _keys[slot] = key
        _hashes[slot] = hash
        _heapCounts[slot] = weight
        _errors[slot] = 0
        _table[index] = UInt16(slot + 1)
        _heap[slot] = UInt16(slot)
        _heapPosition[slot] = UInt16(slot)
        _siftUp(slot)
        return slot
    }

    /// Gives the smallest counter to `key` at `count + weight` (saturating) with error `count`; returns its slot.
    @inlinable
    func _replaceSmallest(_ key: FlowKey, hash: UInt64, count: UInt64, weight: UInt64) -> Int {
        let slot = Int(_heap[0])
        _removeFromTable(slot)
        _keys[slot] = key
        _hashes[slot] = hash
        let (sum, overflow) = count.addingReportingOverflow(weight)
        _heapCounts[0] = overflow ? .max : sum
        _errors[slot] = count
        _insertIntoTable(slot)
        _siftDown(0)
        return slot
    }

    /// The counter of `key`, if held.
    public func entry(for key: FlowKey) -> FlowTopEntry? {
        guard case .held(let slot) = _find(key, hash: key.hash64) else { return nil }
        return FlowTopEntry(key: key, bytes: _countOf(slot), errorBytes: _errors[slot])
    }

    /// The counters as a list, largest first (ties by smaller error, then key words), at most `limit`
    /// entries, with the bound for keys not listed: the sketch's ``absentBound``, or the largest count left
    /// out when that is higher. Each entry's slot comes with it, for state kept per slot.
    /// Complexity: O(count log count); allocates (called once per window, not per record).
    public func top(_ limit: Int) -> (list: FlowTopList, slots: [Int]) {
        var slots = Array(0..<count)
        slots.sort { a, b in
            if _countOf(a) != _countOf(b) { return _countOf(a) > _countOf(b) }
            if _errors[a] != _errors[b] { return _errors[a] < _errors[b] }
            return FlowKeyOrder.less(_keys[a], _keys[b])
        }
        var bound = absentBound
        if slots.count > limit {
            bound = max(bound, _countOf(slots[limit]))
            slots.removeLast(slots.count - limit)
        }
        let entries = slots.map { FlowTopEntry(key: _keys[$0], bytes: _countOf($0), errorBytes: _errors[$0]) }
        return (FlowTopList(entries: entries, absentBoundBytes: bound), slots)
    }

    // MARK: - Index (open addressing, linear probing, backward-shift deletion)

    @usableFromInline
    func _insertIntoTable(_ slot: Int) {
        var index = Int(truncatingIfNeeded: _hashes[slot]) & _tableMask
        while _table[index] != 0 { index = (index + 1) & _tableMask }
        _table[index] = UInt16(slot + 1)
    }

    /// Removes `slot` from the index, shifting later entries of its probe run back so no tombstone is left.
    @usableFromInline
    func _removeFromTable(_ slot: Int) {
        var hole = Int(truncatingIfNeeded: _hashes[slot]) & _tableMask
        while Int(_table[hole]) != slot + 1 { hole = (hole + 1) & _tableMask }
        var next = hole
        while true {
            next = (next + 1) & _tableMask
            let entry = Int(_table[next])
            if entry == 0 { break }
            let home = Int(truncatingIfNeeded: _hashes[entry - 1]) & _tableMask
            // The entry at `next` may move into the hole if its home is not cyclically in (hole, next].
            let distanceToHome = (next - home) & _tableMask
            let distanceToHole = (next - hole) & _tableMask
            if distanceToHome >= distanceToHole {
                _table[hole] = _table[next]
                hole = next
            }
        }
        _table[hole] = 0
    }

    // MARK: - Min-heap of counts

    @usableFromInline
    func _siftDown(_ start: Int) {
        var position = start
        let slot = _heap[position]
        let value = _heapCounts[position]
        while true {
            let left = 2 * position + 1
            guard left < _count else { break }
            var child = left
            if left + 1 < _count && _heapCounts[left + 1] < _heapCounts[left] { child = left + 1 }
            let childValue = _heapCounts[child]
            guard childValue < value else { break }
            let childSlot = _heap[child]
            _heap[position] = childSlot
            _heapCounts[position] = childValue
            _heapPosition[Int(childSlot)] = UInt16(position)
            position = child
        }
        _heap[position] = slot
        _heapCounts[position] = value
        _heapPosition[Int(slot)] = UInt16(position)
    }

    @usableFromInline
    func _siftUp(_ start: Int) {
        var position = start
        let slot = _heap[position]
        let value = _heapCounts[position]
        while position > 0 {
            let parent = (position - 1) / 2
            let parentValue = _heapCounts[parent]
            guard value < parentValue else { break }
            let parentSlot = _heap[parent]
            _heap[position] = parentSlot
            _heapCounts[position] = parentValue
            _heapPosition[Int(parentSlot)] = UInt16(position)
            position = parent
        }
        _heap[position] = slot
        _heapCounts[position] = value
        _heapPosition[Int(slot)] = UInt16(position)
    }

    #if DEBUG
    /// Checks the heap order, the heap/position inverse and that every held key is found (tests).
    public func checkInvariants() -> Bool {
        for position in 0..<count {
            let slot = Int(_heap[position])
            if Int(_heapPosition[slot]) != position { return false }
            if position > 0 && _heapCounts[(position - 1) / 2] > _heapCounts[position] { return false }
            if entry(for: _keys[slot]) == nil { return false }
        }
        return true
    }
    #endif
}

/// A total order on keys (by words), for deterministic tie-breaking.
public enum FlowKeyOrder {
    public static func less(_ a: FlowKey, _ b: FlowKey) -> Bool {
        (a.addressHigh, a.addressLow, a.secondHigh, a.secondLow, a.port)
            < (b.addressHigh, b.addressLow, b.secondHigh, b.secondLow, b.port)
    }
}
