// The simulator's sink onto VigilWire's encoder, written against the agreed API (`NativeEncoder`,
// `SchemaEntry`). VigilWire was still empty when this was written, so the file is compiled only once
// `VIGIL_WIRE_NATIVE_ENCODER` is defined. At merge: delete the #if/#endif lines, switch `RecordingEncoder`
// (InterimNativeEncoder.swift) to this type and delete the interim encoder.
#if VIGIL_WIRE_NATIVE_ENCODER
import VigilCore
import VigilWire

/// Encodes the simulator's output as native wire frames, appending to ``bytes``; the caller drains it.
public struct NativeRecordingEncoder: FleetSampleSink {
    public var bytes: [UInt8] = []
    private let encoder: NativeEncoder

    public init(samplesPerDataFrame: Int = 8_192) {
        encoder = NativeEncoder(samplesPerDataFrame: samplesPerDataFrame)
    }

    public mutating func declare(series: [SeriesDescriptor]) throws {
        let entries = series.enumerated().map { SchemaEntry(wireID: UInt32($0.offset), descriptor: $0.element) }
        encoder.appendSchemaFrames(entries, to: &bytes)
    }

    public mutating func consume(
        timestamps: UnsafeBufferPointer<Int64>,
        wireIDs: UnsafeBufferPointer<UInt32>,
        values: UnsafeBufferPointer<Double>
    ) throws {
        encoder.appendDataFrames(timestamps: timestamps, wireIDs: wireIDs, values: values, to: &bytes)
    }
}
#endif
