import VigilCore

/// An exact, bounded tally of weights by key (a ``FlowKey``, or a port and protocol as a `UInt32`): what
/// ``FlowWindowSketches`` adds records into before the Space-Saving sketches see them. Traffic repeats keys (a window's records come from a few thousand
/// address pairs), so a repeated key costs one probe and one add here instead of four sketch updates, and the
/// sketches see each key once per fold with its summed weight: the same weighted stream, aggregated, so
/// their guarantees hold as they are.
///
/// Memory is fixed at init: `capacity` entries (key and weight: 48 bytes for a ``FlowKey``, 16 for a
/// `UInt32`) in insertion order, plus a 4-byte open-addressing index (linear probing) of the next power of
/// two ≥ 2 × capacity slots, so the index is at most half full. An index slot holds its entry's position
/// and 16 more bits of the hash, so a probe reads an entry only when those match: one entry read per
/// record, almost always. ``add(_:hash:weight:)`` allocates nothing; when it returns false the tally is
/// full and the caller folds it (``forEach(_:)``) and empties it (``removeAll()``).
///
/// Not thread-safe; one owner.
public final class FlowWeightTable<Key: Equatable> {
    /// Entries, 1...``maximumCapacity``.
    public let capacity: Int
    public static var maximumCapacity: Int { 32_767 }

    @usableFromInline
    struct _Entry {
        @usableFromInline var key: Key
        @usableFromInline var weight: UInt64

        @inlinable
        init(key: Key, weight: UInt64) {
            self.key = key
            self.weight = weight
        }
    }

    @usableFromInline let _tableMask: Int
    @usableFromInline let _entries: UnsafeMutablePointer<_Entry>
    /// Open addressing, linear probing: 0 empty, else the hash's top 16 bits above entry + 1.
    @usableFromInline let _table: UnsafeMutablePointer<UInt32>
    @usableFromInline var _count = 0

    /// Keys held.
    public var count: Int { _count }
    public var isEmpty: Bool { _count == 0 }

    /// - Parameter capacity: distinct keys held before the tally is full, 1...32,767.
    public init(capacity: Int) {
        precondition((1...Self.maximumCapacity).contains(capacity), "capacity must be 1...\(Self.maximumCapacity)")
        self.capacity = capacity
        _tableMask = Self.indexSlots(capacity) - 1
        _entries = .allocate(capacity: capacity)
        _table = .allocate(capacity: _tableMask + 1)
        _table.initialize(repeating: 0, count: _tableMask + 1)
    }

    deinit {
        _entries.deinitialize(count: _count)
        _entries.deallocate()
        _table.deallocate()
    }

    /// Index slots for `capacity` entries: the next power of two ≥ 2 × capacity.
    @usableFromInline
    static func indexSlots(_ capacity: Int) -> Int {
        var slots = 4
        while slots < 2 * capacity { slots <<= 1 }
        return slots
    }

    /// Bytes of memory a tally of `capacity` entries holds (object header aside).
    public static func byteCount(capacity: Int) -> Int {
        capacity * MemoryLayout<_Entry>.stride + indexSlots(capacity) * 4
    }

    /// Adds `weight` to `key` (saturating at `UInt64.max`).
    ///
    /// - Parameters:
    ///   - key: the key.
    ///   - hash: a well-mixed hash that is a function of the key alone (its low bits pick the index slot,
    ///     its top 16 are kept there).
    ///   - weight: bytes.
    /// - Returns: false, adding nothing, when the key is new and the tally already holds ``capacity`` keys.
    /// Complexity: O(1) expected; allocates nothing.
    @inlinable
    @inline(__always)
    public func add(_ key: Key, hash: UInt64, weight: UInt64) -> Bool {
        let tag = UInt32(truncatingIfNeeded: hash >> 48) << 16
        var index = Int(truncatingIfNeeded: hash) & _tableMask
        while true {
            let word = _table[index]
            if word == 0 { break }
            let position = Int(word & 0xFFFF) - 1
            if word & 0xFFFF_0000 == tag && _entries[position].key == key {
                let (sum, overflow) = _entries[position].weight.addingReportingOverflow(weight)
                _entries[position].weight = overflow ? .max : sum
                return true
            }
            index = (index + 1) & _tableMask
        }
        guard _count < capacity else { return false }
        (_entries + _count).initialize(to: _Entry(key: key, weight: weight))
        _count += 1
        _table[index] = tag | UInt32(_count)
        return true
    }

    /// Calls `body` with every key and its summed weight, in the order the keys were first added.
    @inlinable
    public func forEach(_ body: (Key, UInt64) -> Void) {
        for position in 0..<_count { body(_entries[position].key, _entries[position].weight) }
    }

    /// Calls `body` with every key and its summed weight, in the order the keys were first added, and
    /// keeps the weight `body` leaves (a fold marks what it has already counted).
    @inlinable
    public func updateEach(_ body: (Key, inout UInt64) -> Void) {
        for position in 0..<_count { body(_entries[position].key, &_entries[position].weight) }
    }

    /// Forgets every key: O(index slots), a 4-byte store each.
    public func removeAll() {
        guard _count > 0 else { return }
        _table.update(repeating: 0, count: _tableMask + 1)
        _entries.deinitialize(count: _count)
        _count = 0
    }
}
