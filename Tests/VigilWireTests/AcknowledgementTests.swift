import Testing
import VigilCore

@testable import VigilWire

@Suite("Hello, numbered frames and acknowledgements")
struct AcknowledgementTests {
    struct Recorder: NativeDecoderDelegate {
        var hellos: [NativeHello] = []
        var asked: [UInt32] = []
        var finished: [(UInt32, Bool)] = []
        var frames = 0
        var errors: [NativeDecodeError] = []
        var skip: Set<UInt32> = []
        mutating func nativeDecoder(didDeclare entry: SchemaEntry) {}
        mutating func nativeDecoder(didDecode frame: DataFrameView) { frames += 1 }
        mutating func nativeDecoder(didFail error: NativeDecodeError) { errors.append(error) }
        mutating func nativeDecoder(didReceive hello: NativeHello) { hellos.append(hello) }
        mutating func nativeDecoder(
            shouldDecodeFrameNumbered sequence: UInt32,
            type: NativeFrameType,
            offset: Int64
        ) -> Bool {
            asked.append(sequence)
            return !skip.contains(sequence)
        }
        mutating func nativeDecoder(didFinishFrameNumbered sequence: UInt32, delivered: Bool) {
            finished.append((sequence, delivered))
        }
    }

    @Test("a hello, then numbered data frames: the delegate sees each number, may skip one, learns the outcome")
    func numberedFrames() {
        var stream: [UInt8] = []
        NativeHello(senderID: 0xABCD, wantsAcknowledgements: true).appendFrame(to: &stream)
        let start = stream.count
        let encoder = NativeEncoder(samplesPerDataFrame: 2)
        encoder.appendDataFrames(
            timestamps: [1, 2, 3, 4, 5, 6],
            wireIDs: [0, 0, 0, 0, 0, 0],
            values: [1, 2, 3, 4, 5, 6],
            to: &stream
        )
        #expect(NativeEncoder.numberFrames(in: &stream, range: start..<stream.count, firstSequence: 41) == 44)
        var decoder = NativeStreamDecoder()
        var recorder = Recorder()
        recorder.skip = [42]
        let consumed = stream.withUnsafeBytes { decoder.decode($0, delegate: &recorder) }
        #expect(consumed == stream.count)
        #expect(recorder.hellos == [NativeHello(senderID: 0xABCD, wantsAcknowledgements: true)])
        #expect(recorder.asked == [41, 42, 43])
        #expect(recorder.finished.map(\.0) == [41, 43] && recorder.finished.allSatisfy(\.1))
        #expect(recorder.frames == 2)
        #expect(decoder.statistics.framesSkippedAsRetries == 1)
        #expect(recorder.errors.isEmpty)
    }

    @Test(
        "a hello of the wrong size or with sender id 0 is a malformed_hello; an acknowledgement from a sender is not expected"
    )
    func malformedHello() {
        var stream: [UInt8] = []
        [UInt8](repeating: 0, count: 8).withUnsafeBytes {
            NativeEncoder.appendFrame(typeRawValue: NativeFrameType.hello.rawValue, payload: $0, to: &stream)
        }
        NativeHello(senderID: 0, wantsAcknowledgements: true).appendFrame(to: &stream)
        NativeAcknowledgement(senderID: 1, ranges: []).appendFrame(to: &stream)
        var decoder = NativeStreamDecoder()
        var recorder = Recorder()
        _ = stream.withUnsafeBytes { decoder.decode($0, delegate: &recorder) }
        #expect(recorder.hellos.isEmpty)
        #expect(recorder.errors.map(\.counterName) == ["malformed_hello", "malformed_hello", "unknown_frame_type"])
    }

    @Test("acknowledgements round-trip through their frames, and a reader keeps a partial frame for later")
    func acknowledgementFrames() {
        let acknowledgement = NativeAcknowledgement(
            senderID: 99,
            ranges: [
                .init(first: 1, last: 5, status: .accepted), .init(first: 6, last: 6, status: .duplicate),
                .init(first: UInt32.max, last: 2, status: .stale), .init(first: 9, last: 9, status: .rejected),
            ]
        )
        var bytes: [UInt8] = []
        acknowledgement.appendFrame(to: &bytes)
        acknowledgement.appendFrame(to: &bytes)
        let whole = bytes.withUnsafeBytes { NativeAcknowledgement.decodeFrames($0) }
        #expect(whole.acknowledgements == [acknowledgement, acknowledgement])
        #expect(whole.consumed == bytes.count)
        let partial = bytes.withUnsafeBytes {
            NativeAcknowledgement.decodeFrames(UnsafeRawBufferPointer(rebasing: $0[0..<(bytes.count - 3)]))
        }
        #expect(partial.acknowledgements == [acknowledgement])
        #expect(partial.consumed == bytes.count / 2)
    }
}
