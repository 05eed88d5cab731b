import VigilCore

/// The encoder `vigil generate` records with. Switch to `NativeRecordingEncoder` once VigilWire's
/// `NativeEncoder` has landed (see NativeRecordingEncoder.swift).
public typealias RecordingEncoder = InterimNativeEncoder

/// A minimal writer of native wire format v1 frames (docs/wire-format.md), standing in for VigilWire's
/// `NativeEncoder` until that branch is merged, so that `vigil generate` can record SampleData now.
/// It writes what the spec says and nothing else: schema frames (split under the 4 MiB payload cap) and
/// columnar data frames of at most `samplesPerDataFrame` samples. Appends to ``bytes``; the caller drains it.
public struct InterimNativeEncoder: FleetSampleSink {
    static let headerByteCount = 24
    static let maxPayloadBytes = 4 << 20
    static let maxWireID: UInt32 = (1 << 24) - 1

    public var bytes: [UInt8] = []
    public let samplesPerDataFrame: Int

    public init(samplesPerDataFrame: Int = 8_192) {
        precondition(samplesPerDataFrame >= 1 && 8 + 20 * samplesPerDataFrame <= Self.maxPayloadBytes)
        self.samplesPerDataFrame = samplesPerDataFrame
    }

    public mutating func declare(series: [SeriesDescriptor]) throws {
        precondition(series.count <= Int(Self.maxWireID) + 1, "wire ids must stay below 2^24")
        var entries: [[UInt8]] = []
        var payloadBytes = 4
        func flush() {
            guard !entries.isEmpty else { return }
            let headerStart = beginFrame()
            append(UInt32(entries.count))
            for entry in entries { bytes.append(contentsOf: entry) }
            endFrame(type: 1, headerStart: headerStart)
            entries.removeAll()
            payloadBytes = 4
        }
        for (wireID, descriptor) in series.enumerated() {
            var entry: [UInt8] = []
            appendLittleEndian(UInt32(wireID), to: &entry)
            entry.append(descriptor.kind.rawValue)
            entry.append(UInt8(descriptor.key.extraLabels.count))
            var strings = [descriptor.key.device, descriptor.key.interface, descriptor.key.metric, descriptor.unit]
            for label in descriptor.key.extraLabels { strings += [label.name, label.value] }
            for string in strings {
                let utf8 = Array(string.utf8.prefix(1_024))
                appendLittleEndian(UInt16(utf8.count), to: &entry)
                entry.append(contentsOf: utf8)
            }
            if payloadBytes + entry.count > Self.maxPayloadBytes { flush() }
            entries.append(entry)
            payloadBytes += entry.count
        }
        flush()
    }

    public mutating func consume(
        timestamps: UnsafeBufferPointer<Int64>,
        wireIDs: UnsafeBufferPointer<UInt32>,
        values: UnsafeBufferPointer<Double>
    ) throws {
        precondition(timestamps.count == wireIDs.count && wireIDs.count == values.count, "columns differ in length")
        var start = 0
        while start < timestamps.count {
            let end = min(start + samplesPerDataFrame, timestamps.count)
            let headerStart = beginFrame()
            append(UInt32(end - start))
            append(UInt32(0))
            for index in start..<end { append(UInt64(bitPattern: timestamps[index])) }
            for index in start..<end { append(values[index].bitPattern) }
            for index in start..<end { append(wireIDs[index]) }
            endFrame(type: 2, headerStart: headerStart)
            start = end
        }
    }

    private mutating func beginFrame() -> Int {
        let headerStart = bytes.count
        bytes.append(contentsOf: repeatElement(0, count: Self.headerByteCount))
        return headerStart
    }

    /// Fills in the header of the frame whose payload runs from `headerStart + 24` to the end of `bytes`.
    private mutating func endFrame(type: UInt8, headerStart: Int) {
        let payloadStart = headerStart + Self.headerByteCount
        let payloadLength = bytes.count - payloadStart
        let payloadCRC = bytes.withUnsafeBytes {
            CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[payloadStart...]))
        }
        var header: [UInt8] = [0x56, 0x47, 0x49, 0x4C, 1, type, 0, 0]
        appendLittleEndian(UInt32(payloadLength), to: &header)
        appendLittleEndian(payloadCRC, to: &header)
        appendLittleEndian(UInt32(0), to: &header)
        appendLittleEndian(CRC32C.checksum(header), to: &header)
        bytes.replaceSubrange(headerStart..<payloadStart, with: header)
    }

    @inline(__always)
    private mutating func append<Integer: FixedWidthInteger>(_ value: Integer) {
        appendLittleEndian(value, to: &bytes)
    }
}

@inline(__always)
private func appendLittleEndian<Integer: FixedWidthInteger>(_ value: Integer, to bytes: inout [UInt8]) {
    withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
}
