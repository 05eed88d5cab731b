// The simulator's sink onto VigilWire's encoder: `vigil generate` records through it.
import VigilCore
import VigilWire

/// The encoder `vigil generate` records with.
public typealias RecordingEncoder = NativeRecordingEncoder

/// Encodes the simulator's output as native wire frames, appending to ``bytes``; the caller drains it.
public struct NativeRecordingEncoder: FleetSampleSink {
    public var bytes: [UInt8] = []
    private let encoder: NativeEncoder

    public init(samplesPerDataFrame: Int = 8_192) {
        encoder = NativeEncoder(samplesPerDataFrame: samplesPerDataFrame)
    }

    public mutating func declare(series: [SeriesDescriptor]) throws {
        let entries = series.enumerated().map { SchemaEntry(wireID: UInt32($0.offset), descriptor: $0.element) }
        try encoder.appendSchemaFrames(entries, to: &bytes)
    }

    /// Hands the encoded frames to `body` one at a time, in order, then empties ``bytes``: a writer that ends a
    /// compressed block only between calls (`CompressedFileWriter`) then never cuts a frame.
    public mutating func drainFrames(_ body: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        try bytes.withUnsafeBytes { encoded in
            var offset = 0
            while offset < encoded.count {
                let payloadLength = encoded.loadUnaligned(fromByteOffset: offset + 8, as: UInt32.self).littleEndian
                let end = offset + NativeFormat.headerByteCount + Int(payloadLength)
                try body(UnsafeRawBufferPointer(rebasing: encoded[offset..<end]))
                offset = end
            }
        }
        bytes.removeAll(keepingCapacity: true)
    }

    public mutating func consume(
        timestamps: UnsafeBufferPointer<Int64>,
        wireIDs: UnsafeBufferPointer<UInt32>,
        values: UnsafeBufferPointer<Double>
    ) throws {
        encoder.appendDataFrames(timestamps: timestamps, wireIDs: wireIDs, values: values, to: &bytes)
    }
}
