#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Interns series keys into dense ``SeriesID``s, under a cardinality budget.
///
/// Registration happens on schema frames (once per series per stream), never per sample, so a mutex
/// here is off the hot path. Decoders keep their own wire-id → ``SeriesID`` table and call the registry
/// only when a schema frame declares a series.
///
/// Bound: at most `cardinalityLimit` series; further keys are rejected and counted once each (however many
/// streams or schema re-sends declare them), and stay rejected (their samples are counted as rejected by the
/// caller) until the engine restarts. Telling a refused key from one refused before costs 8 bytes of hash per
/// refused key, for at most ``maximumTrackedRejections`` keys.
///
/// The key → id index is an open-addressing table of 8-byte slots (the key's hash high half, id + 1) over
/// the descriptor array, which holds the keys: growing it moves slots without hashing a key again, and it
/// costs 16 bytes or less per series where a `[SeriesKey: SeriesID]` cost about 90 (and rehashed every key,
/// strings included, at each doubling: most of the time a stream of 100k new series took to declare).
public final class SeriesRegistry: @unchecked Sendable {
    public let cardinalityLimit: Int
    /// `UInt64(hash high 32 bits) << 32 | (id + 1)`; 0 is an empty slot. Power-of-two count, at most half full.
    private var slots = [UInt64](repeating: 0, count: 1024)
    private var descriptors: [SeriesDescriptor] = []
    private var _rejectedRegistrations = 0
    /// `labelsHash` of each key refused so far (at most ``maximumTrackedRejections``): a key declared again
    /// is not counted again.
    private var rejectedKeyHashes: Set<Int> = []
    private var _kindConflicts = 0
    private var mutex = pthread_mutex_t()

    public enum Registration: Equatable, Sendable {
        /// A new or known series, with its id.
        case registered(SeriesID)
        /// A known series re-declared with another kind: its id, and the kind it keeps (its first).
        case registeredWithOtherKind(SeriesID, kept: MetricKind)
        /// The registry is at its cardinality limit and the key is new.
        case rejectedCardinality
    }

    /// How many refused keys are remembered to count each once: 1,048,576 (about 16 MiB of hashes at most).
    public static let maximumTrackedRejections = 1 << 20

    public init(cardinalityLimit: Int) {
        precondition(cardinalityLimit > 0 && cardinalityLimit <= Int(UInt32.max), "cardinality limit out of range")
        self.cardinalityLimit = cardinalityLimit
        pthread_mutex_init(&mutex, nil)
    }

    deinit { pthread_mutex_destroy(&mutex) }

    /// Returns the id of `descriptor`'s key, registering it if new and under the limit.
    ///
    /// A key registered before keeps its first kind and unit: a stream that re-declares a series with
    /// another kind gets ``Registration/registeredWithOtherKind(_:kept:)``, is counted in ``kindConflicts``,
    /// and its samples are treated with the first kind, so per-series state stays consistent.
    public func register(_ descriptor: SeriesDescriptor) -> Registration {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        let (found, slotIndex) = find(descriptor.key)
        if let id = found {
            let kept = descriptors[Int(id)].kind
            guard kept == descriptor.kind else {
                _kindConflicts += 1
                return .registeredWithOtherKind(id, kept: kept)
            }
            return .registered(id)
        }
        guard descriptors.count < cardinalityLimit else {
            noteRefused(descriptor)
            return .rejectedCardinality
        }
        let id = SeriesID(descriptors.count)
        slots[slotIndex] = Self.slot(hash: descriptor.key.labelsHash, id: id)
        descriptors.append(descriptor)
        if descriptors.count * 2 > slots.count { grow() }
        return .registered(id)
    }

    /// Refuses `descriptor` (counted like a refused registration) when the registry is full and does not know
    /// its key; false otherwise, registering nothing. For a stream past its own bound of declarations, whose
    /// further series must still be told apart as over the limit.
    public func refusesForCardinality(_ descriptor: SeriesDescriptor) -> Bool {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        guard descriptors.count >= cardinalityLimit, find(descriptor.key).0 == nil else { return false }
        noteRefused(descriptor)
        return true
    }

    /// Counts a refused key once, however often it is declared (exact for up to
    /// ``maximumTrackedRejections`` keys). Called with the mutex held.
    private func noteRefused(_ descriptor: SeriesDescriptor) {
        let hash = descriptor.key.labelsHash
        if !rejectedKeyHashes.contains(hash) {
            _rejectedRegistrations += 1
            if rejectedKeyHashes.count < Self.maximumTrackedRejections { rejectedKeyHashes.insert(hash) }
        }
    }

    @inline(__always)
    private static func slot(hash: Int, id: SeriesID) -> UInt64 {
        UInt64(UInt(bitPattern: hash) >> 32) << 32 | (UInt64(id) + 1)
    }

    /// The key's id if registered, and the slot where the search ended (where a new key goes). The mutex
    /// is held. Bounded: the table is at most half full, so a probe meets an empty slot.
    private func find(_ key: SeriesKey) -> (SeriesID?, Int) {
        let hashHigh = UInt64(UInt(bitPattern: key.labelsHash) >> 32)
        let mask = slots.count - 1
        var index = Int(truncatingIfNeeded: hashHigh) & mask
        while true {
            let slot = slots[index]
            if slot == 0 { return (nil, index) }
            if slot >> 32 == hashHigh {
                let id = SeriesID(truncatingIfNeeded: slot &- 1)
                if descriptors[Int(id)].key == key { return (id, index) }
            }
            index = (index + 1) & mask
        }
    }

    /// Doubles the table, placing each slot again from the hash half it stores.
    private func grow() {
        var grown = [UInt64](repeating: 0, count: slots.count * 2)
        let mask = grown.count - 1
        for slot in slots where slot != 0 {
            var index = Int(truncatingIfNeeded: slot >> 32) & mask
            while grown[index] != 0 { index = (index + 1) & mask }
            grown[index] = slot
        }
        slots = grown
    }

    /// The descriptor of a registered id. Callers cache what they need; this takes the mutex.
    public func descriptor(for id: SeriesID) -> SeriesDescriptor? {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return Int(id) < descriptors.count ? descriptors[Int(id)] : nil
    }

    /// The descriptors of several ids under one lock (nil for an id not registered): how a shard learns
    /// the new series of a batch, thousands at once when a fleet first reports.
    public func descriptors(for ids: [SeriesID]) -> [SeriesDescriptor?] {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return ids.map { Int($0) < descriptors.count ? descriptors[Int($0)] : nil }
    }

    public func id(for key: SeriesKey) -> SeriesID? {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return find(key).0
    }

    /// A copy of all descriptors, indexed by id (for the rollup writer's dictionary and the summary).
    public func snapshot() -> [SeriesDescriptor] {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return descriptors
    }

    public var count: Int {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return descriptors.count
    }

    /// Distinct keys refused for the cardinality limit, each counted once however often it is declared:
    /// exact up to ``maximumTrackedRejections`` refused keys (and but for 64-bit hash collisions); past that,
    /// each refusal of a key not tracked counts.
    public var rejectedRegistrations: Int {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return _rejectedRegistrations
    }

    /// Re-declarations of a known key with a different kind.
    public var kindConflicts: Int {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return _kindConflicts
    }
}
