import VigilAnalytics
import VigilCore

/// A series' model and alert state in a checkpoint: each model's block behind a tag and a length (so a
/// block this run has no model for, a series no longer thresholded, is skipped), then the events of its
/// alerts now firing, so their `resolved` lines can still be written after a restart.
extension ShardAlerting {
    private enum Block: UInt8 {
        case anomaly = 1
        case forecast = 2
        case firing = 3
        case end = 0
    }

    func writeState(of seriesID: SeriesID, to writer: inout StateWriter) {
        let local = shards.localIndex(of: seriesID)
        if anomalyEnabled {
            let page = local / Self.pageSize
            let offset = local % Self.pageSize
            blockWriter(.anomaly, &writer) {
                // The shape first: a run with another bucket count skips the block.
                $0.put(UInt16(detector.configuration.bucketCount))
                detectorPages[page].writeState(localIndex: offset, to: &$0)
                anomalyPages[page].writeState(localIndex: offset, to: &$0)
            }
        }
        if local < forecastIndexOfLocal.count, forecastIndexOfLocal[local] >= 0 {
            let forecastIndex = Int(forecastIndexOfLocal[local])
            let block = forecastIndex / Self.forecastBlockSize
            let slot = forecastIndex % Self.forecastBlockSize
            let forecasters = forecasterBlocks[block]
            let forecastTrackers = forecastTrackerBlocks[block]
            let thresholdTrackers = thresholdTrackerBlocks[block]
            let shape = (UInt16(forecaster.configuration.fineSlotCount), UInt16(forecaster.configuration.coarseSlotCount))
            func write(_ writer: inout StateWriter) {
                writer.put(shape.0)
                writer.put(shape.1)
                forecasters.writeState(localIndex: slot, to: &writer)
                forecastTrackers.writeState(localIndex: slot, to: &writer)
                thresholdTrackers.writeState(localIndex: slot, to: &writer)
            }
            blockWriter(.forecast, &writer, write)
        }
        for kind in AlertKind.allCases {
            guard let event = firing[FiringKey(seriesID: seriesID, kind: kind)] else { continue }
            blockWriter(.firing, &writer) { Self.write(event, to: &$0) }
        }
        writer.put(Block.end.rawValue)
    }

    private func blockWriter(_ tag: Block, _ writer: inout StateWriter, _ body: (inout StateWriter) -> Void) {
        writer.put(tag.rawValue)
        let length = writer.beginLength()
        body(&writer)
        writer.endLength(at: length)
    }

    /// Registers the series and replaces its model and alert state with what ``writeState(of:to:)`` wrote.
    /// Blocks for models this run does not run on the series are skipped.
    ///
    /// - Returns: the alerts restored as firing, and those left out because this run does not run the
    ///   model that would resolve them (`--no-anomaly`, a threshold no longer configured).
    @discardableResult
    func restoreState(of seriesID: SeriesID, descriptor: SeriesDescriptor, from reader: inout StateReader)
        throws(StateReader.Malformed) -> (firing: Int, untracked: Int)
    {
        register(seriesID, descriptor: descriptor)
        let local = shards.localIndex(of: seriesID)
        var restoredFiring = 0
        var untracked = 0
        let hasForecast = local < forecastIndexOfLocal.count && forecastIndexOfLocal[local] >= 0
        while true {
            let rawTag = try reader.get(UInt8.self, "model block tag")
            guard let tag = Block(rawValue: rawTag) else { throw reader.malformed("model block tag \(rawTag)") }
            if tag == .end { break }
            let length = Int(try reader.get(UInt32.self, "model block length"))
            guard length <= reader.remaining else { throw reader.malformed("model block of \(length) bytes") }
            let end = reader.offset + length
            switch tag {
            case .anomaly where anomalyEnabled:
                // Written with another bucket count: skipped (to the block's end, below).
                guard try reader.get(UInt16.self, "bucket count") == detector.configuration.bucketCount else { break }
                let page = local / Self.pageSize
                let offset = local % Self.pageSize
                try detectorPages[page].restoreState(localIndex: offset, from: &reader)
                try anomalyPages[page].restoreState(localIndex: offset, from: &reader)
            case .forecast where hasForecast:
                let fine = try reader.get(UInt16.self, "fine slots")
                let coarse = try reader.get(UInt16.self, "coarse slots")
                guard fine == forecaster.configuration.fineSlotCount, coarse == forecaster.configuration.coarseSlotCount
                else { break }
                let forecastIndex = Int(forecastIndexOfLocal[local])
                let block = forecastIndex / Self.forecastBlockSize
                let slot = forecastIndex % Self.forecastBlockSize
                try forecasterBlocks[block].restoreState(localIndex: slot, from: &reader)
                try forecastTrackerBlocks[block].restoreState(localIndex: slot, from: &reader)
                try thresholdTrackerBlocks[block].restoreState(localIndex: slot, from: &reader)
            case .firing:
                let event = try Self.readEvent(from: &reader)
                // Only an alert this run can resolve: its model runs on the series.
                if event.kind == .anomaly ? anomalyEnabled : hasForecast {
                    firing[FiringKey(seriesID: seriesID, kind: event.kind)] = event
                    restoredFiring += 1
                } else {
                    untracked += 1
                }
            default:
                break
            }
            guard reader.offset <= end else { throw reader.malformed("model block read past its length") }
            try reader.skip(end - reader.offset, "rest of a model block")
        }
        return (restoredFiring, untracked)
    }

    static func write(_ event: AlertEvent, to writer: inout StateWriter) {
        writer.put(event.id)
        writer.put(event.kind.rawValue)
        writer.put(event.severity.rawValue)
        writer.put(event.device)
        writer.put(event.interface)
        writer.put(event.metric)
        writer.put(UInt32(event.labels.count))
        for (name, value) in event.labels.sorted(by: { $0.key < $1.key }) {
            writer.put(name)
            writer.put(value)
        }
        writer.put(event.score)
        writer.put(event.startsAt)
        writer.put(event.explanation)
    }

    static func readEvent(from reader: inout StateReader) throws(StateReader.Malformed) -> AlertEvent {
        let id = try reader.string("alert id")
        let kindName = try reader.string("alert kind")
        guard let kind = AlertKind(rawValue: kindName) else { throw reader.malformed("alert kind \(kindName)") }
        let severityName = try reader.string("alert severity")
        guard let severity = AlertSeverity(rawValue: severityName) else {
            throw reader.malformed("alert severity \(severityName)")
        }
        let device = try reader.string("alert device")
        let interface = try reader.string("alert interface")
        let metric = try reader.string("alert metric")
        let labelCount = Int(try reader.get(UInt32.self, "alert label count"))
        guard labelCount <= 64 else { throw reader.malformed("\(labelCount) alert labels") }
        var labels: [String: String] = [:]
        for _ in 0..<labelCount {
            let name = try reader.string("alert label name")
            labels[name] = try reader.string("alert label value")
        }
        let score = try reader.double("alert score")
        let startsAt = try reader.string("alert start")
        let explanation = try reader.string("alert explanation")
        return AlertEvent(
            id: id,
            status: .firing,
            kind: kind,
            severity: severity,
            device: device,
            interface: interface,
            metric: metric,
            labels: labels,
            score: score,
            startsAt: startsAt,
            endsAt: nil,
            explanation: explanation
        )
    }
}
