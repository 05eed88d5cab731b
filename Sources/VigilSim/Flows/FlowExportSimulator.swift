import VigilCore
import VigilWire

/// How simulated flow exporters behave: `vigil generate flows`' options, checked.
public struct FlowExportConfiguration: Sendable, Equatable {
    public var format: FlowFormat
    /// Exporters, each with its own address (``exporterBase`` + k), observation domain (k + 1), clock,
    /// sequence numbers and random stream.
    public var exporterCount = 1
    /// Flow records per datagram (the last datagram of a run may hold fewer): 1 to 30.
    public var recordsPerDatagram = 24
    /// 1 in N packets sampled, as the exporters announce it (v5 header, v9/IPFIX options data, sFlow).
    public var samplingRate: UInt32 = 1
    /// Templates, sampler options (v9, IPFIX) and an sFlow counter sample every this many datagrams of an
    /// exporter, from its first.
    public var templateRefreshDatagrams = 20
    public var seed: UInt64 = 1
    /// Exporter 0's address (127.0.0.10 by default); IPv4 or IPv6.
    public var exporterBase = IPAddress(ipv4: 0x7F00_000A)
    /// Templates each exporter announces (NetFlow v9, IPFIX): 3 (IPv4 and IPv6 flows, sampler options) up
    /// to ``FlowTemplateLayout/maximumTemplateCount``, ids 256 up; data goes round the flow layouts, one per
    /// datagram and address family (``FlowTemplateLayout``).
    public var templateCount = FlowTemplateLayout.defaultTemplateCount
    /// Draw records from this many distinct 5-tuples (``FlowTrafficModel/distinctFlow(_:)``), in turn over
    /// the run's records in send order, so R records hold min(R, N) distinct 5-tuples; nil: the pool with
    /// varied client ports, as before.
    public var distinctFlows: Int?
    /// The first export time (the exporters booted before it), nanoseconds since the Unix epoch.
    public var startNanoseconds: Int64

    /// Twice a collector's default exporter limit (``FlowDecoderLimits/maximumExporters``), so what happens
    /// past it can be tried. A simulated exporter costs about 1 KiB here.
    public static let maximumExporters = 131_072

    public init(format: FlowFormat, startNanoseconds: Int64) {
        self.format = format
        self.startNanoseconds = startNanoseconds
    }

    /// What is out of range, naming the setting, or nil.
    public func problem() -> String? {
        if !(1...Self.maximumExporters).contains(exporterCount) {
            return "exporters \(exporterCount): expected 1...\(Self.maximumExporters)"
        }
        if exporterAddress(exporterCount - 1).isIPv4 != exporterBase.isIPv4 {
            return "exporters \(exporterCount): the last address, \(exporterBase) + \(exporterCount - 1), leaves IPv4"
        }
        if !(FlowTemplateLayout.defaultTemplateCount...FlowTemplateLayout.maximumTemplateCount).contains(templateCount)
        {
            return
                "templates per exporter \(templateCount): expected \(FlowTemplateLayout.defaultTemplateCount)..."
                + "\(FlowTemplateLayout.maximumTemplateCount)"
        }
        if templateCount != FlowTemplateLayout.defaultTemplateCount && format != .netFlowV9 && format != .ipfix {
            return "templates per exporter \(templateCount): only NetFlow v9 and IPFIX have templates"
        }
        if let distinctFlows, !(1...FlowTrafficModel.maximumDistinctFlows).contains(distinctFlows) {
            return "distinct flows \(distinctFlows): expected 1...\(FlowTrafficModel.maximumDistinctFlows)"
        }
        if !(1...FlowEncodingLimits.maximumRecordsPerDatagram).contains(recordsPerDatagram) {
            return
                "records per datagram \(recordsPerDatagram): expected 1...\(FlowEncodingLimits.maximumRecordsPerDatagram)"
                + " (NetFlow v5's limit, which routers keep to for every format)"
        }
        let maximumSampling: UInt32 = format == .netFlowV5 ? (1 << 14) - 1 : 1 << 30
        if samplingRate < 1 || samplingRate > maximumSampling {
            return "sampling rate \(samplingRate): expected 1...\(maximumSampling) for \(format)"
        }
        if !(1...1_000_000).contains(templateRefreshDatagrams) {
            return "template refresh \(templateRefreshDatagrams): expected 1...1000000 datagrams"
        }
        return nil
    }

    /// Exporter `index`'s address.
    public func exporterAddress(_ index: Int) -> IPAddress {
        var address = exporterBase
        address.low &+= UInt64(index)
        return address
    }
}

/// Simulated flow exporters: each call encodes one exporter's next datagram of records drawn from a
/// ``FlowTrafficModel``, with its header (sequence numbers per format), and templates, sampler options and
/// sFlow counter samples when due.
///
/// Deterministic: every exporter has its own seeded random stream, so an exporter's datagrams depend only on
/// the configuration, the record counts asked for and the export times given (with
/// ``FlowExportConfiguration/distinctFlows``, also on the records sent before, by all exporters: the keys
/// are taken in turn). Storage is allocated once; a datagram allocates nothing.
public final class FlowExportSimulator {
    public let configuration: FlowExportConfiguration
    public let model: FlowTrafficModel

    struct Exporter {
        var random: SplitMix64
        var bootMilliseconds: Int64
        var datagrams: UInt64 = 0
        /// v5: flows sent; IPFIX: data records sent (options data included).
        var recordSequence: UInt32 = 0
        var address: IPAddress
    }

    var exporters: [Exporter]
    /// Each exporter's sFlow data sources, by ifIndex 0...interfaceCount.
    let sources: UnsafeMutableBufferPointer<SFlowDataSource>
    let sourcesPerExporter = Int(FlowTrafficModel.interfaceCount) + 1
    /// The records of the last datagram, in the order written.
    let recordStorage: UnsafeMutableBufferPointer<FlowRecord>
    public private(set) var lastRecordCount = 0
    /// The header of the last datagram.
    public private(set) var lastHeader: FlowExportHeader
    /// With ``FlowExportConfiguration/distinctFlows``: the key index of the next record.
    var nextDistinctFlow = 0

    public init(configuration: FlowExportConfiguration) {
        precondition(configuration.problem() == nil, configuration.problem() ?? "")
        self.configuration = configuration
        let format = configuration.format
        model = FlowTrafficModel(
            seed: configuration.seed,
            allowIPv6: format != .netFlowV5,
            allowWideAS: format != .netFlowV5,
            carriesDirection: format != .netFlowV5 && format != .sFlowV5,
            carriesAS: format != .sFlowV5
        )
        let startMilliseconds = configuration.startNanoseconds / 1_000_000
        exporters = (0..<configuration.exporterCount).map { index in
            // Booted 1 to 10 days before the start, whole seconds, so uptimes differ per exporter.
            Exporter(
                random: SplitMix64(seed: configuration.seed &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15),
                bootMilliseconds: startMilliseconds / 1_000 * 1_000
                    - Int64(86_400_000 + (index * 7_919 % 9) * 86_400_000),
                address: configuration.exporterAddress(index)
            )
        }
        sources = .allocate(capacity: configuration.exporterCount * sourcesPerExporter)
        for index in sources.indices {
            var source = SFlowDataSource()
            source.counters.interfaceIndex = UInt32(index % sourcesPerExporter)
            source.counters.speedBitsPerSecond = 10_000_000_000
            source.counters.operationallyUp = true
            sources[index] = source
        }
        recordStorage = .allocate(capacity: FlowEncodingLimits.maximumRecordsPerDatagram)
        recordStorage.initialize(repeating: FlowRecord())
        lastHeader = FlowExportHeader(
            exportNanoseconds: 0,
            bootMilliseconds: 0,
            sequenceNumber: 0,
            observationDomain: 0,
            agentAddress: .unspecified
        )
    }

    deinit {
        sources.deallocate()
        recordStorage.deallocate()
    }

    /// The records of the last datagram, as written (valid until the next call).
    public var lastRecords: UnsafeBufferPointer<FlowRecord> {
        UnsafeBufferPointer(rebasing: recordStorage[0..<lastRecordCount])
    }

    /// The address exporter `index` sends from.
    public func exporterAddress(_ index: Int) -> IPAddress { exporters[index].address }

    /// Encodes exporter `exporter`'s next datagram.
    /// - Parameters:
    ///   - exporter: 0..<exporterCount.
    ///   - recordCount: flow records in it, 1...recordsPerDatagram.
    ///   - exportNanoseconds: the exporter's clock when it sends (records end 1 to 34 s before).
    ///   - cursor: where to write; needs ``FlowEncodingLimits/maximumDatagramBytes``.
    /// - Returns: what was written.
    public func encodeDatagram(
        exporter index: Int,
        recordCount: Int,
        exportNanoseconds: Int64,
        into cursor: inout FlowWriteCursor
    ) -> FlowEncodedDatagram {
        precondition(recordCount >= 1 && recordCount <= configuration.recordsPerDatagram)
        cursor.require(FlowEncodingLimits.maximumDatagramBytes)
        let format = configuration.format
        let sampling = configuration.samplingRate
        let exportMilliseconds = exportNanoseconds / 1_000_000
        let sFlow = format == .sFlowV5
        let recordSampling: UInt32 = format == .netFlowV5 && sampling == 1 ? 0 : sampling
        let sourceBase = index * sourcesPerExporter
        var random = exporters[index].random
        // IPv4 records from the front, IPv6 from the back: the order the encoders write them in.
        var front = 0
        var back = recordCount
        let distinctFlows = configuration.distinctFlows ?? 0
        model.entries.withUnsafeBufferPointer { pool in
            let mask = UInt64(FlowTrafficModel.poolSize - 1)
            for _ in 0..<recordCount {
                let bits = random.next()
                let entry: FlowTrafficModel.Entry
                var record: FlowRecord
                if distinctFlows > 0 {
                    // The next key: its 5-tuple fixed by its index, the counts and times varied as below.
                    entry = model.distinctFlow(nextDistinctFlow)
                    nextDistinctFlow = nextDistinctFlow + 1 == distinctFlows ? 0 : nextDistinctFlow + 1
                    record = entry.record
                } else {
                    entry = pool[Int(truncatingIfNeeded: bits & mask)]
                    record = entry.record
                    if record.sourcePort >= 32_768 && record.protocolNumber != 1 {
                        record.sourcePort =
                            32_768 | (record.sourcePort &+ UInt16(truncatingIfNeeded: bits >> 40)) & 0x3FFF
                    } else if record.destinationPort >= 32_768 {
                        record.destinationPort =
                            32_768 | (record.destinationPort &+ UInt16(truncatingIfNeeded: bits >> 40)) & 0x3FFF
                    }
                }
                record.samplingInterval = recordSampling
                if sFlow {
                    // One sampled packet: its frame (Ethernet + IP), between the headers' size and 1514.
                    let minimum = UInt64(
                        SFlowV5Encoder.minimumFrameLength(
                            ipVersion: record.ipVersion,
                            protocolNumber: record.protocolNumber
                        )
                    )
                    let frame = UInt64(entry.bytesPerPacket) + 14 + (bits >> 12) & 0xF
                    record.octets = min(1_514, max(minimum, frame))
                    record.packets = 1
                    let counters = sourceBase + Int(record.inputInterface)
                    sources[counters].counters.inputOctets &+= record.octets &* UInt64(sampling)
                    sources[counters].counters.inputUnicastPackets &+= sampling
                    let output = sourceBase + Int(record.outputInterface)
                    sources[output].counters.outputOctets &+= record.octets &* UInt64(sampling)
                    sources[output].counters.outputUnicastPackets &+= sampling
                } else {
                    let extraPackets = (bits >> 12) & 0x1F
                    record.packets &+= extraPackets
                    record.octets &+= extraPackets &* UInt64(entry.bytesPerPacket)
                    record.endMilliseconds = exportMilliseconds - 1_000 - Int64((bits >> 20) & 0x7FFF)
                    record.startMilliseconds = record.endMilliseconds - entry.durationMilliseconds
                }
                if record.sourceAddress.isIPv4 {
                    recordStorage[front] = record
                    front += 1
                } else {
                    back -= 1
                    recordStorage[back] = record
                }
            }
        }
        exporters[index].random = random
        lastRecordCount = recordCount
        let datagram = exporters[index].datagrams
        let refresh = datagram % UInt64(configuration.templateRefreshDatagrams) == 0
        var header = FlowExportHeader(
            exportNanoseconds: exportNanoseconds,
            bootMilliseconds: exporters[index].bootMilliseconds,
            sequenceNumber: 0,
            observationDomain: UInt32(index + 1),
            agentAddress: exporters[index].address
        )
        let records = UnsafeBufferPointer(rebasing: recordStorage[0..<recordCount])
        var result: FlowEncodedDatagram
        switch format {
        case .netFlowV5:
            header.sequenceNumber = exporters[index].recordSequence
            let start = cursor.offset
            NetFlowV5Encoder.encode(records: records, header: header, samplingInterval: recordSampling, into: &cursor)
            result = FlowEncodedDatagram()
            result.byteCount = cursor.offset - start
            result.flowRecords = recordCount
            exporters[index].recordSequence &+= UInt32(recordCount)
        case .netFlowV9:
            header.sequenceNumber = UInt32(truncatingIfNeeded: datagram)
            result = NetFlowV9Encoder.encode(
                records: records,
                header: header,
                includeTemplates: refresh,
                samplingInterval: sampling,
                templateCount: configuration.templateCount,
                layoutTurn: Int(datagram),
                into: &cursor
            )
        case .ipfix:
            header.sequenceNumber = exporters[index].recordSequence
            result = IPFIXEncoder.encode(
                records: records,
                header: header,
                includeTemplates: refresh,
                samplingInterval: sampling,
                templateCount: configuration.templateCount,
                layoutTurn: Int(datagram),
                into: &cursor
            )
            exporters[index].recordSequence &+= UInt32(result.flowRecords + result.optionsRecords)
        case .sFlowV5:
            header.sequenceNumber = UInt32(truncatingIfNeeded: datagram + 1)
            let counterSource: UInt32? =
                refresh
                ? 1
                    + UInt32(
                        datagram / UInt64(configuration.templateRefreshDatagrams)
                            % UInt64(FlowTrafficModel.interfaceCount)
                    )
                : nil
            result = SFlowV5Encoder.encode(
                records: records,
                header: header,
                samplingRate: sampling,
                counterSource: counterSource,
                sources: UnsafeMutableBufferPointer(rebasing: sources[sourceBase..<sourceBase + sourcesPerExporter]),
                into: &cursor
            )
        }
        exporters[index].datagrams += 1
        lastHeader = header
        return result
    }
}
