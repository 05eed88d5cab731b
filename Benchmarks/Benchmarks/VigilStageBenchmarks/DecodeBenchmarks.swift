import Benchmark
import VigilCore
import VigilWire

/// Native decode: `NativeStreamDecoder.decode` over an in-memory stream of 8192-sample data frames, presented
/// in 4 MiB reads, with a delegate that copies each frame's columns into a ``SampleBatch`` and maps wire ids to
/// engine ids, as the engine's ingest session does. One iteration is one million samples.
func decodeBenchmarks() {
    let fixture = FixtureBox<DecodeFixture>()
    Benchmark(
        "decode/native 8192-sample frames → SampleBatch",
        configuration: .init(
            metrics: stageMetrics,
            scalingFactor: .mega,
            setup: { fixture.value = DecodeFixture() },
            teardown: { fixture.value = nil }
        )
    ) { benchmark in
        let decode = fixture.value!
        benchmark.startMeasurement()
        let samples = decode.decodeStream()
        benchmark.stopMeasurement()
        precondition(samples == DecodeFixture.sampleCount, "decoded \(samples) samples, expected one million")
    }
}

/// The engine's decoder delegate without the routing: copy the columns, translate the wire ids.
struct BatchCopyingDelegate: NativeDecoderDelegate {
    let batch: SampleBatch
    /// Wire id → engine series id; wire ids past its end map to `SeriesID.max` (undeclared).
    let seriesIDsByWireID: UnsafeBufferPointer<SeriesID>
    var samples = 0
    var errors = 0

    mutating func nativeDecoder(didDeclare entry: SchemaEntry) {}

    mutating func nativeDecoder(didDecode frame: DataFrameView) {
        var start = 0
        // Bounded: `start` advances by at least one sample (the batch's capacity is positive) per pass.
        while start < frame.count {
            let count = min(batch.capacity, frame.count - start)
            batch.removeAll()
            frame.copy(
                range: start..<start + count,
                timestamps: batch.timestamps,
                wireIDs: batch.seriesIDs,
                values: batch.values
            )
            let table = seriesIDsByWireID
            for index in 0..<count {
                let wireID = Int(batch.seriesIDs[index])
                batch.seriesIDs[index] = wireID < table.count ? table[wireID] : .max
            }
            batch.count = count
            start += count
        }
        samples += frame.count
    }

    mutating func nativeDecoder(didFail error: NativeDecodeError) { errors += 1 }
}

final class DecodeFixture {
    static let sampleCount = 1_000_000
    static let seriesCount = 100_000
    static let samplesPerFrame = 8192
    /// The engine's read size.
    static let readByteCount = 4 << 20

    /// The encoded stream: data frames only (schema frames are declared once per stream, not measured).
    let stream: UnsafeMutableRawBufferPointer
    let seriesIDsByWireID: UnsafeMutableBufferPointer<SeriesID>
    var decoder = NativeStreamDecoder()
    var delegate: BatchCopyingDelegate

    init() {
        let fleet = SyntheticFleet(seriesCount: Self.seriesCount)
        let samples = fleet.samples(
            roundCount: Self.sampleCount / Self.seriesCount,
            roundNanoseconds: 10 * EventTime.nanosecondsPerSecond,
            startNanoseconds: SyntheticFleet.epochNanoseconds,
            shuffled: true
        )
        var bytes: [UInt8] = []
        NativeEncoder(samplesPerDataFrame: Self.samplesPerFrame).appendDataFrames(
            timestamps: samples.timestamps,
            wireIDs: samples.seriesIDs,
            values: samples.values,
            to: &bytes
        )
        stream = .allocate(byteCount: bytes.count, alignment: 64)
        stream.copyMemory(from: UnsafeRawBufferPointer(start: bytes, count: bytes.count))
        // Engine ids differ from wire ids, as they do when several streams share one registry.
        seriesIDsByWireID = .allocate(capacity: Self.seriesCount)
        for wireID in 0..<Self.seriesCount {
            seriesIDsByWireID[wireID] = SeriesID(Self.seriesCount - 1 - wireID)
        }
        delegate = BatchCopyingDelegate(
            batch: SampleBatch(capacity: Self.samplesPerFrame),
            seriesIDsByWireID: UnsafeBufferPointer(seriesIDsByWireID)
        )
        // Check the fixture once: the whole stream decodes, without an error.
        let decoded = decodeStream()
        precondition(decoded == Self.sampleCount && delegate.errors == 0, "the benchmark stream does not decode")
    }

    deinit {
        stream.deallocate()
        seriesIDsByWireID.deallocate()
    }

    /// Decodes the whole stream in 4 MiB reads, as the engine presents a file; returns the samples decoded.
    ///
    /// The stream is contiguous, so each read starts at the first unconsumed byte instead of copying the
    /// unconsumed tail to the front of a read buffer: the decoder sees exactly what the engine's reads show it.
    func decodeStream() -> Int {
        let base = UnsafeRawBufferPointer(stream)
        delegate.samples = 0
        var offset = 0
        // Bounded: a read holds at least one whole frame, so every call consumes one or the loop stops.
        while offset < base.count {
            let end = min(base.count, offset + Self.readByteCount)
            let consumed = decoder.decode(UnsafeRawBufferPointer(rebasing: base[offset..<end]), delegate: &delegate)
            if consumed == 0 { break }
            offset += consumed
        }
        return delegate.samples
    }
}
