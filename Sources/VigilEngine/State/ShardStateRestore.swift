import Logging
import VigilCore
import VigilStore

/// Gives this run's shards the series state of a checkpoint's `shard-state` sections, whatever shard count
/// wrote them: each series is registered by its key (so it gets this run's id, and with it this run's
/// shard) and its windows, models and firing alerts are restored there. Runs before any shard or input.
enum ShardStateRestore {
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
        var series = 0
        var openWindows = 0
        var firingAlerts = 0
        var watermarks: [Int64] = []
        for section in sections {
            guard section.version == ShardWorker.stateSectionVersion else {
                logger.warning(
                    "state: \(section.kind) \(section.key) not restored: layout version \(section.version), this build reads \(ShardWorker.stateSectionVersion)"
                )
                continue
            }
            var reader = StateReader(section.payload)
            do {
                let written = try reader.string("fingerprint")
                guard written == fingerprint else {
                    logger.warning(
                        "state: \(section.key) not restored: written with \(written), this run has \(fingerprint); its series start afresh"
                    )
                    continue
                }
                watermarks.append(try reader.get(Int64.self, "watermark"))
                let count = Int(try reader.get(UInt32.self, "series count"))
                for _ in 0..<count {
                    let length = Int(try reader.get(UInt32.self, "series record length"))
                    guard length <= reader.remaining else { throw reader.malformed("series record of \(length) bytes") }
                    let end = reader.offset + length
                    let descriptor = try ShardWorker.readDescriptor(from: &reader)
                    let id: SeriesID
                    switch registry.register(descriptor) {
                    case .registered(let registered): id = registered
                    case .registeredWithOtherKind, .rejectedCardinality:
                        // Another kind (two records of one key) or past --max-series: not restored.
                        try reader.skip(end - reader.offset, "series record")
                        continue
                    }
                    let restored = try shards[shardArithmetic.shard(of: id)]
                        .restoreSeries(id, descriptor: descriptor, from: &reader)
                    guard reader.offset == end else {
                        throw reader.malformed(
                            "series record of \(length) bytes read to \(reader.offset - end + length)"
                        )
                    }
                    series += 1
                    openWindows += restored.openWindows
                    firingAlerts += restored.firingAlerts
                }
                guard reader.remaining == 0 else {
                    throw reader.malformed("\(reader.remaining) bytes after the last series")
                }
            } catch {
                logger.warning("state: \(section.key) restored only in part (\(series) series so far): \(error)")
            }
        }
        // Series move between shards when the shard count changes: every shard takes the lowest of the
        // watermarks, so no sample the run before would have counted is judged late here.
        if let watermark = watermarks.min() {
            for shard in shards { shard.restoreWatermark(watermark) }
        }
        counters.stateSeriesRestored.wrappingIncrement(by: series, ordering: .relaxed)
        counters.stateWindowsRestored.wrappingIncrement(by: openWindows, ordering: .relaxed)
        counters.stateAlertsRestored.wrappingIncrement(by: firingAlerts, ordering: .relaxed)
        logger.notice(
            "state: restored \(series) series with \(openWindows) open window(s) and \(firingAlerts) firing alert(s) into \(shards.count) shard(s) in \((ResourceUsage.monotonicNanoseconds() - started) / 1_000_000) ms"
        )
    }
}
