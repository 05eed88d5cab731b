import Foundation
import Testing
import VigilCore
import VigilWire

/// Acknowledgements and retries, the way a sender uses them: docs/wire-format.md, "Acknowledgements".
@Suite("TCP senders: acknowledgements and retries", .serialized)
struct AcknowledgementTCPTests {
    /// Reads acknowledgements from `fd` until `sequences` all have one (bounded: 10 s); returns the status of
    /// each sequence number acknowledged.
    func readAcknowledgements(
        _ fd: Int32,
        covering sequences: ClosedRange<UInt32>
    ) -> [UInt32: NativeAcknowledgement.Status] {
        var statuses: [UInt32: NativeAcknowledgement.Status] = [:]
        var pending: [UInt8] = []
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var chunk = [UInt8](repeating: 0, count: 4096)
        while !sequences.allSatisfy({ statuses[$0] != nil }) {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            pending += chunk[0..<count]
            let (acknowledgements, consumed) = pending.withUnsafeBytes { NativeAcknowledgement.decodeFrames($0) }
            pending.removeFirst(consumed)
            for acknowledgement in acknowledgements {
                for range in acknowledgement.ranges {
                    var sequence = range.first
                    while true {
                        statuses[sequence] = range.status
                        if sequence == range.last { break }
                        sequence &+= 1
                    }
                }
            }
        }
        return statuses
    }

    @Test("a sender asks for acks, is cut off, reconnects from another address and resends: counted once")
    func retryAfterReconnect() throws {
        let port = UInt16.random(in: 20_000...60_000)
        let (process, output, errors) = try TCP.startEngine(port: port, ["--stop-after-idle", "2s"])
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        // Frame 1 is the schema (5 series), frames 2...11 carry 4 rounds of the 5 series each.
        let encoder = NativeEncoder(samplesPerDataFrame: 20)
        var frames: [[UInt8]] = []
        var schema: [UInt8] = []
        try encoder.appendSchemaFrames(
            (0..<5).map {
                schemaEntry(wireID: UInt32($0), device: "acked", interface: "et-\($0)", metric: "m", unit: "x")
            },
            to: &schema
        )
        frames.append(schema)
        for frame in 0..<10 {
            var bytes: [UInt8] = []
            let rounds = (0..<4).map { Int64(frame * 4 + $0) }
            encoder.appendDataFrames(
                timestamps: rounds.flatMap { round in
                    (0..<5).map { _ in 1_793_577_600_000_000_000 + round * 10_000_000_000 }
                },
                wireIDs: rounds.flatMap { _ in (0..<5).map { UInt32($0) } },
                values: [Double](repeating: 1, count: 20),
                to: &bytes
            )
            frames.append(bytes)
        }
        for index in frames.indices {
            NativeEncoder.numberFrames(
                in: &frames[index],
                range: 0..<frames[index].count,
                firstSequence: UInt32(index + 1)
            )
        }
        var hello: [UInt8] = []
        NativeHello(senderID: 0x5EED_0000_0001, wantsAcknowledgements: true).appendFrame(to: &hello)

        let first = try TCP.connect(port: port, from: "127.0.0.1")
        #expect(TCP.send(first, (hello + Array(frames[0..<6].joined()))[...]))
        let firstAcks = readAcknowledgements(first, covering: 1...6)
        #expect((1...6).map { firstAcks[$0] } == Array(repeating: .accepted, count: 6), "\(firstAcks)")
        // Frames 7...9 go out, and the connection is cut before their acknowledgements are read.
        #expect(TCP.send(first, Array(frames[6..<9].joined())[...]))
        close(first)
        usleep(300_000)
        // The sender does not know what was kept: it resends everything unacknowledged (and its schema, which a
        // new connection needs) from another address and port, then goes on.
        let second = try TCP.connect(port: port, from: "127.0.0.9")
        #expect(TCP.send(second, (hello + frames[0] + Array(frames[6..<11].joined()))[...]))
        let secondAcks = readAcknowledgements(second, covering: 7...11)
        #expect(secondAcks[1] == .accepted, "schema frames are applied again: the new stream needs them")
        #expect((7...9).map { secondAcks[$0] } == [.duplicate, .duplicate, .duplicate], "\(secondAcks)")
        #expect((10...11).map { secondAcks[$0] } == [.accepted, .accepted], "\(secondAcks)")
        close(second)
        let (status, summary, standardError) = try TCP.waitForEngine(process, output: output, errors: errors)
        #expect(status == 0, "\(standardError)")
        #expect(summary["samples_aggregated"] as? Int == 10 * 20, "each data frame counted once")
        #expect(summary["duplicate_frames"] as? Int == 3)
        #expect((summary["acknowledgements_sent"] as? Int ?? 0) >= 2)
        #expect((summary["rejects"] as? [String: Int])?.values.allSatisfy { $0 == 0 } == true, "\(summary)")
    }

    /// One gauge of `device` declared, then its samples at `seconds` after 2026-11-02, the data frame numbered
    /// `sequence` when given (the schema frame is not numbered).
    func frame(device: String, seconds: StrideTo<Int64>, sequence: UInt32?) throws -> [UInt8] {
        let encoder = NativeEncoder(samplesPerDataFrame: 64)
        var bytes: [UInt8] = []
        try encoder.appendSchemaFrames(
            [schemaEntry(wireID: 0, device: device, interface: "et-0", metric: "rx_power_dbm", unit: "dBm")],
            to: &bytes
        )
        let data = bytes.count
        let times = seconds.map { 1_793_577_600_000_000_000 + $0 * 1_000_000_000 }
        encoder.appendDataFrames(
            timestamps: times,
            wireIDs: [UInt32](repeating: 0, count: times.count),
            values: [Double](repeating: -3, count: times.count),
            to: &bytes
        )
        if let sequence {
            NativeEncoder.numberFrames(in: &bytes, range: data..<bytes.count, firstSequence: sequence)
        }
        return bytes
    }

    @Test("a sender cut off keeps its clock for --source-idle-timeout: what it sends again on reconnecting is on time")
    func reconnectResumesTheClock() throws {
        let port = UInt16.random(in: 20_000...60_000)
        let (process, output, errors) = try TCP.startEngine(port: port, ["--no-anomaly", "--stop-after-idle", "2s"])
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        var hello: [UInt8] = []
        NativeHello(senderID: 77, wantsAcknowledgements: true).appendFrame(to: &hello)
        let other = try TCP.connect(port: port)
        // The other sender's first three samples give it a clock before the one that will be cut off starts.
        TCP.send(other, try frame(device: "other", seconds: stride(from: 0, to: 30, by: 10), sequence: nil)[...])
        usleep(200_000)
        let first = try TCP.connect(port: port, from: "127.0.0.1")
        TCP.send(
            first,
            (hello + (try frame(device: "acked", seconds: stride(from: 0, to: 120, by: 10), sequence: 0)))[...]
        )
        #expect(readAcknowledgements(first, covering: 0...0)[0] == .accepted)
        TCP.send(other, try frame(device: "other", seconds: stride(from: 30, to: 120, by: 10), sequence: nil)[...])
        usleep(200_000)
        close(first)
        usleep(200_000)
        // While it is away, the other sender's clock runs four minutes on.
        TCP.send(other, try frame(device: "other", seconds: stride(from: 120, to: 360, by: 10), sequence: nil)[...])
        usleep(300_000)
        let second = try TCP.connect(port: port, from: "127.0.0.8")
        TCP.send(
            second,
            (hello + (try frame(device: "acked", seconds: stride(from: 120, to: 240, by: 10), sequence: 1)))[...]
        )
        #expect(readAcknowledgements(second, covering: 1...1)[1] == .accepted)
        close(second)
        close(other)
        let (status, summary, standardError) = try TCP.waitForEngine(process, output: output, errors: errors)
        #expect(status == 0, "\(standardError)")
        #expect(summary["late_samples"] as? Int == 0, "\(standardError)")
        #expect(summary["samples_aggregated"] as? Int == 36 + 24)
    }

    @Test(
        "a sender back on a new connection while its old one is still open here (half-open) carries on: nothing dropped"
    )
    func reconnectWhileOldConnectionOpen() throws {
        let port = UInt16.random(in: 20_000...60_000)
        let (process, output, errors) = try TCP.startEngine(port: port, ["--no-anomaly", "--stop-after-idle", "2s"])
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        var hello: [UInt8] = []
        NativeHello(senderID: 78, wantsAcknowledgements: true).appendFrame(to: &hello)
        let first = try TCP.connect(port: port)
        TCP.send(
            first,
            (hello + (try frame(device: "acked", seconds: stride(from: 0, to: 120, by: 10), sequence: 0)))[...]
        )
        #expect(readAcknowledgements(first, covering: 0...0)[0] == .accepted)
        // The sender's side of `first` failed (a network flap); Vigil's side is still open. It reconnects.
        let second = try TCP.connect(port: port, from: "127.0.0.8")
        TCP.send(
            second,
            (hello + (try frame(device: "acked", seconds: stride(from: 120, to: 240, by: 10), sequence: 1)))[...]
        )
        #expect(readAcknowledgements(second, covering: 1...1)[1] == .accepted)
        #expect(TCP.isClosedByPeer(first, within: 2), "the old connection of the sender is closed")
        close(second)
        close(first)
        let (status, summary, standardError) = try TCP.waitForEngine(process, output: output, errors: errors)
        #expect(status == 0, "\(standardError)")
        #expect((summary["rejects"] as? [String: Int])?["series_fed_elsewhere"] == 0, "\(summary)")
        #expect(summary["samples_aggregated"] as? Int == 24, "\(standardError)")
        #expect(summary["late_samples"] as? Int == 0)
    }
}
