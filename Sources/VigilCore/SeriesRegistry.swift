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
/// Bound: at most `cardinalityLimit` series; further keys are rejected and counted, and stay rejected
/// (their samples are counted as rejected by the caller) until the engine restarts.
public final class SeriesRegistry: @unchecked Sendable {
    public let cardinalityLimit: Int
    private var idsByKey: [SeriesKey: SeriesID] = [:]
    private var descriptors: [SeriesDescriptor] = []
    private var _rejectedRegistrations = 0
    private var _kindConflicts = 0
    private var mutex = pthread_mutex_t()

    public enum Registration: Equatable, Sendable {
        /// A new or known series, with its id.
        case registered(SeriesID)
        /// The registry is at its cardinality limit and the key is new.
        case rejectedCardinality
    }

    public init(cardinalityLimit: Int) {
        precondition(cardinalityLimit > 0 && cardinalityLimit <= Int(UInt32.max), "cardinality limit out of range")
        self.cardinalityLimit = cardinalityLimit
        pthread_mutex_init(&mutex, nil)
    }

    deinit { pthread_mutex_destroy(&mutex) }

    /// Returns the id of `descriptor`'s key, registering it if new and under the limit.
    ///
    /// A key registered before keeps its first kind and unit: a stream that re-declares a series with
    /// another kind is counted in ``kindConflicts`` and its samples are treated with the first kind, so
    /// per-series state stays consistent.
    public func register(_ descriptor: SeriesDescriptor) -> Registration {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        if let id = idsByKey[descriptor.key] {
            if descriptors[Int(id)].kind != descriptor.kind { _kindConflicts += 1 }
            return .registered(id)
        }
        guard descriptors.count < cardinalityLimit else {
            _rejectedRegistrations += 1
            return .rejectedCardinality
        }
        let id = SeriesID(descriptors.count)
        idsByKey[descriptor.key] = id
        descriptors.append(descriptor)
        return .registered(id)
    }

    /// The descriptor of a registered id. Callers cache what they need; this takes the mutex.
    public func descriptor(for id: SeriesID) -> SeriesDescriptor? {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return Int(id) < descriptors.count ? descriptors[Int(id)] : nil
    }

    public func id(for key: SeriesKey) -> SeriesID? {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return idsByKey[key]
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

    /// Distinct registration attempts refused for the cardinality limit.
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
