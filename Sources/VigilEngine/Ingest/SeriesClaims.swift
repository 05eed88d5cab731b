import VigilCore

#if canImport(Glibc)
import Glibc
#endif

/// Which stream feeds each series: the first stream (event-time source) to declare a series claims it until
/// that stream ends, and samples other streams send for it are dropped and counted (`series_fed_elsewhere`).
///
/// Why: a series' window state has two slots, sized for one clock. Fed by two sources whose clocks differ by
/// more than a window, the one ahead forces the other's windows shut, and the slower source's samples, on
/// time by its own clock, come out late. One stream per series keeps "late against its own source" true. It
/// also drops the second copy of a series that two collectors forward (a redundant pair) instead of merging
/// them twice over.
///
/// Claims are taken when a schema declares a series and released when the claiming stream ends (or, for a
/// TCP sender that said who it is, when its clock is let go after it disconnected): cold paths, under a mutex.
/// 4 bytes per series.
final class SeriesClaims: @unchecked Sendable {
    private var owners: [UInt32] = []
    private var mutex = pthread_mutex_t()

    init() { pthread_mutex_init(&mutex, nil) }
    deinit { pthread_mutex_destroy(&mutex) }

    enum Outcome: Equatable {
        /// The series was free: `source` feeds it from now on.
        case claimed
        /// `source` already feeds it.
        case alreadyOwned
        /// Another stream feeds it.
        case fedElsewhere
    }

    /// Claims `series` for `source` (a ``ProducerClock/Source/id``, never 0) if no other stream holds it.
    func claim(_ series: SeriesID, by source: UInt32) -> Outcome {
        precondition(source != 0, "source id 0 marks an unclaimed series")
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        let index = Int(series)
        if index >= owners.count { owners.append(contentsOf: repeatElement(0, count: index + 1 - owners.count)) }
        switch owners[index] {
        case 0:
            owners[index] = source
            return .claimed
        case source:
            return .alreadyOwned
        default:
            return .fedElsewhere
        }
    }

    /// Releases those of `series` that `source` holds.
    func release(_ series: [SeriesID], by source: UInt32) {
        guard !series.isEmpty else { return }
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        for id in series where Int(id) < owners.count && owners[Int(id)] == source { owners[Int(id)] = 0 }
    }
}
