import VigilAnalytics
import VigilCore
import VigilStore

/// A shard's part of a checkpoint (`docs/state-format.md`, section `shard-state`): every series it holds,
/// by its key (stable across runs, shard counts and machines, unlike its arrival-order id), with its
/// open windows, counter state, model state and firing alerts.
extension ShardWorker {
    static let stateSectionKind = "shard-state"
    static let stateSectionVersion: UInt16 = 1

    /// What the checkpoint's writer and reader must agree on: the window width (open windows are on its
    /// grid). A checkpoint written with another is not restored (named in the log). Model blocks carry their
    /// own shapes and are skipped, one by one, when they do not fit this run's models.
    var stateFingerprint: String { "window=\(windows.configuration.windowNanoseconds)ns" }

    /// This shard's state as a checkpoint section: the fingerprint, the table's watermark, and per series a
    /// length-prefixed record (descriptor, window state, model and alert state). O(series); runs on the
    /// shard's thread, between batches.
    func stateSection(shardCount: Int) -> StateSection {
        var writer = StateWriter(reservingCapacity: 1 << 16)
        writer.put(stateFingerprint)
        writer.put(windows.watermarkNanoseconds)
        let series = windows.registeredSeries
        let descriptors = registry.descriptors(for: series)
        writer.put(UInt32(series.count))
        for (id, descriptor) in zip(series, descriptors) {
            let length = writer.beginLength()
            // Registered by this shard from the registry, so it has a descriptor.
            Self.write(descriptor!, to: &writer)
            windows.writeState(of: id, to: &writer)
            alerting.writeState(of: id, to: &writer)
            writer.endLength(at: length)
        }
        return StateSection(
            kind: Self.stateSectionKind,
            key: "shard \(shardIndex) of \(shardCount)",
            version: Self.stateSectionVersion,
            payload: writer.bytes
        )
    }

    /// Restores one series a checkpoint holds into this shard (its id maps here). Before the shard runs.
    func restoreSeries(
        _ id: SeriesID,
        descriptor: SeriesDescriptor,
        from reader: inout StateReader
    )
        throws(StateReader.Malformed) -> (openWindows: Int, firingAlerts: Int, untrackedAlerts: Int)
    {
        let openBefore = windows.statistics.openWindows
        try windows.restoreState(of: id, kind: descriptor.kind, from: &reader)
        let alerts = try alerting.restoreState(of: id, descriptor: descriptor, from: &reader)
        return (windows.statistics.openWindows - openBefore, alerts.firing, alerts.untracked)
    }

    /// Raises the window table's watermark to one the checkpoint recorded. Before the shard runs.
    func restoreWatermark(_ watermarkNanoseconds: Int64) {
        windows.restoreWatermark(watermarkNanoseconds)
        alertsDecidedThrough.store(windows.watermarkNanoseconds, ordering: .relaxed)
    }

    static func write(_ descriptor: SeriesDescriptor, to writer: inout StateWriter) {
        writer.put(descriptor.key.device)
        writer.put(descriptor.key.interface)
        writer.put(descriptor.key.metric)
        writer.put(UInt16(descriptor.key.extraLabels.count))
        for label in descriptor.key.extraLabels {
            writer.put(label.name)
            writer.put(label.value)
        }
        writer.put(descriptor.kind.rawValue)
        writer.put(descriptor.unit)
    }

    static func readDescriptor(from reader: inout StateReader) throws(StateReader.Malformed) -> SeriesDescriptor {
        let device = try reader.string("device")
        let interface = try reader.string("interface")
        let metric = try reader.string("metric")
        let labelCount = Int(try reader.get(UInt16.self, "label count"))
        guard labelCount <= 64 else { throw reader.malformed("\(labelCount) labels") }
        var labels: [Label] = []
        for _ in 0..<labelCount {
            let name = try reader.string("label name")
            labels.append(Label(name: name, value: try reader.string("label value")))
        }
        let rawKind = try reader.get(UInt8.self, "kind")
        guard let kind = MetricKind(rawValue: rawKind) else { throw reader.malformed("kind \(rawKind)") }
        let unit = try reader.string("unit")
        return SeriesDescriptor(
            key: SeriesKey(device: device, interface: interface, metric: metric, extraLabels: labels),
            kind: kind,
            unit: unit
        )
    }
}
