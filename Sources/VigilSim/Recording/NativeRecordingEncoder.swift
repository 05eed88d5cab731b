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

    public mutating func consume(
        timestamps: UnsafeBufferPointer<Int64>,
        wireIDs: UnsafeBufferPointer<UInt32>,
        values: UnsafeBufferPointer<Double>
    ) throws {
        encoder.appendDataFrames(timestamps: timestamps, wireIDs: wireIDs, values: values, to: &bytes)
    }
}
