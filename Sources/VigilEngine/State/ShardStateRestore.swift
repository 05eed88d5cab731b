import Dispatch
import Logging
import VigilCore
import VigilStore

/// Gives this run's shards the series state of a checkpoint's `shard-state` sections, whatever shard count
/// wrote them: each series is registered by its key (so it gets this run's id, and with it this run's
/// shard) and its windows, models and firing alerts are restored there. Runs before any shard or input.
///
/// Two passes: the descriptors are read and registered in checkpoint order (the registry hands out ids, so
/// this pass is serial), then every shard restores its own series' records on a thread of its own (a
/// shard's tables are its own; the records are read in place from the sections' bytes).
enum ShardStateRestore {
    /// One series to restore: where its record's state begins and ends in which section, and its new id.
    private struct Item {
        var section: Int
        var stateStart: Int
        var end: Int
        var id: SeriesID
        var descriptor: SeriesDescriptor
    }

    static func restore(
        _ sections: [StateSection],
        into shards: [ShardWorker],
        registry: SeriesRegistry,
        counters: EngineCounters,
        logger: Logger
    ) {
        guard !sections.isEmpty, let first = shards.first else { return }
        let started = ResourceUsage.monotonicNanoseconds()
        let fingerprint = first.stateFingerprint
        let shardArithmetic = ShardArithmetic(shardCount: shards.count)
        var itemsByShard = [[Item]](repeating: [], count: shards.count)
        var watermarks: [Int64] = []
        for (sectionIndex, section) in sections.enumerated() {
            guard section.version == ShardWorker.stateSectionVersion else {
                logger.warning(
                    "state: \(section.kind) \(section.key) not restored: layout version \(section.version), this build reads \(ShardWorker.stateSectionVersion)"
                )
                continue
            }
            var reader = StateReader(section.payload)
            var registered = 0
            do {
                let written = try reader.string("fingerprint")
                guard written == fingerprint else {
                    logger.warning(
                        "state: \(section.key) not restored: written with \(written), this run has \(fingerprint); its series start afresh"
                    )
                    continue
                }
                let watermark = try reader.time("watermark")
                let count = Int(try reader.get(UInt32.self, "series count"))
                // A shard that held no series never moved its watermark: it says nothing of the others'.
                if count > 0 { watermarks.append(watermark) }
                for _ in 0..<count {
                    let length = Int(try reader.get(UInt32.self, "series record length"))
                    guard length <= reader.remaining else { throw reader.malformed("series record of \(length) bytes") }
                    let end = reader.offset + length
                    let descriptor = try ShardWorker.readDescriptor(from: &reader)
                    guard reader.offset <= end else { throw reader.malformed("descriptor past its record") }
                    let stateStart = reader.offset
                    try reader.skip(end - reader.offset, "series record")
                    // Another kind (two records of one key) or past --max-series: not restored.
                    guard case .registered(let id) = registry.register(descriptor) else { continue }
                    itemsByShard[shardArithmetic.shard(of: id)].append(
                        Item(section: sectionIndex, stateStart: stateStart, end: end, id: id, descriptor: descriptor)
                    )
                    registered += 1
                }
                guard reader.remaining == 0 else {
                    throw reader.malformed("\(reader.remaining) bytes after the last series")
                }
            } catch {
                logger.warning("state: \(section.key) read only in part (\(registered) series): \(error)")
            }
        }
        // Series move between shards when the shard count changes: every shard takes the lowest of the
        // watermarks, so no sample the run before would have counted is judged late here.
        if let watermark = watermarks.min() {
            for shard in shards { shard.restoreWatermark(watermark) }
        }
        // One slot per shard, each written by its own thread only; read after concurrentPerform returns.
        let outcomes = UnsafeMutableBufferPointer<Outcome>.allocate(capacity: shards.count)
        outcomes.initialize(repeating: Outcome())
        defer {
            _ = outcomes.deinitialize()
            outcomes.deallocate()
        }
        DispatchQueue.concurrentPerform(iterations: shards.count) { shardIndex in
            var outcome = Outcome()
            for item in itemsByShard[shardIndex] {
                var reader = StateReader(sections[item.section].payload, offset: item.stateStart)
                do {
                    let restored = try shards[shardIndex].restoreSeries(
                        item.id,
                        descriptor: item.descriptor,
                        from: &reader
                    )
                    guard reader.offset == item.end else {
                        throw reader.malformed("series record ends at \(item.end), read to \(reader.offset)")
                    }
                    outcome.series += 1
                    outcome.openWindows += restored.openWindows
                    outcome.firingAlerts += restored.firingAlerts
                    outcome.untrackedAlerts += restored.untrackedAlerts
                } catch {
                    // The series stays registered, with whatever of its state was read (its windows are
                    // only replaced once the whole window record has been read and checked).
                    outcome.failures += 1
                    if outcome.firstFailure == nil { outcome.firstFailure = "\(item.descriptor.key): \(error)" }
                }
            }
            outcomes[shardIndex] = outcome
        }
        let total = outcomes.reduce(into: Outcome()) { total, outcome in
            total.series += outcome.series
            total.openWindows += outcome.openWindows
            total.firingAlerts += outcome.firingAlerts
            total.untrackedAlerts += outcome.untrackedAlerts
            total.failures += outcome.failures
            total.firstFailure = total.firstFailure ?? outcome.firstFailure
        }
        if total.untrackedAlerts > 0 {
            logger.warning(
                "state: \(total.untrackedAlerts) alert(s) firing before the restart are no longer tracked (their model does not run on their series in this run): no resolved line will follow"
            )
        }
        if let failure = total.firstFailure {
            logger.warning("state: \(total.failures) series not restored whole; the first: \(failure)")
        }
        counters.stateSeriesRestored.wrappingIncrement(by: total.series, ordering: .relaxed)
        counters.stateWindowsRestored.wrappingIncrement(by: total.openWindows, ordering: .relaxed)
        counters.stateAlertsRestored.wrappingIncrement(by: total.firingAlerts, ordering: .relaxed)
        logger.notice(
            "state: restored \(total.series) series with \(total.openWindows) open window(s) and \(total.firingAlerts) firing alert(s) into \(shards.count) shard(s) in \((ResourceUsage.monotonicNanoseconds() - started) / 1_000_000) ms"
        )
    }

    /// What one shard's restoring thread did.
    private struct Outcome {
        var series = 0
        var openWindows = 0
        var firingAlerts = 0
        var untrackedAlerts = 0
        var failures = 0
        var firstFailure: String?
    }
}
