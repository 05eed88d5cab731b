import Foundation
import Testing
import VigilCore
import VigilWire

/// Senders that would starve the others, against the real binary. Attackers connect from other loopback
/// addresses (127.0.0.2 …) than the honest sender (127.0.0.1), as they would from other hosts.
@Suite("TCP input against hostile senders", .serialized)
struct HostileTCPTests {
    /// Sends one byte of garbage a second on each of `sockets` until `stop` is set (bounded: `seconds`).
    final class Trickler: @unchecked Sendable {
        private let lock = NSLock()
        private var stopped = false
        private let done = DispatchSemaphore(value: 0)

        init(sockets: [Int32], seconds: Int) {
            Thread { [self] in
                for _ in 0..<(seconds * 10) {
                    if isStopped { break }
                    for fd in sockets { _ = Foundation.send(fd, "x", 1, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
                    usleep(100_000)
                }
                done.signal()
            }.start()
        }

        var isStopped: Bool {
            lock.lock()
            defer { lock.unlock() }
            return stopped
        }

        func stop() {
            lock.lock()
            stopped = true
            lock.unlock()
            done.wait()
        }
    }

    @Test("64 connections trickling a garbage byte at a time cannot lock out a good sender, and are closed")
    func tricklersDoNotStarveAGoodSender() throws {
        let port = UInt16.random(in: 20_000...60_000)
        let (process, output, errors) = try TCP.startEngine(
            port: port,
            [
                "--max-connections", "64", "--max-connections-per-address", "64", "--tcp-frame-timeout", "8s",
                "--stop-after-idle", "2s",
            ]
        )
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        let attackers = try (0..<64).map { _ in try TCP.connect(port: port, from: "127.0.0.2") }
        let trickler = Trickler(sockets: attackers, seconds: 30)
        // Every slot is taken. Once the tricklers have completed no frame for 5 s, a new sender takes a slot.
        usleep(6_000_000)
        let good = try TCP.connect(port: port, from: "127.0.0.1")
        let stream = makeStream(series: 5, rounds: 20, device: "good")
        #expect(TCP.send(good, stream[...]))
        close(good)
        // The tricklers' bytes complete no frame: each is closed once the frame timeout passes.
        let closedAll = attackers.allSatisfy { TCP.isClosedByPeer($0, within: 10) }
        trickler.stop()
        attackers.forEach { close($0) }
        #expect(closedAll, "a trickler was not disconnected")
        let (status, summary, standardError) = try TCP.waitForEngine(process, output: output, errors: errors)
        #expect(status == 0, "\(standardError)")
        #expect(summary["samples_aggregated"] as? Int == 5 * 20, "\(standardError)")
        let rejects = summary["rejects"] as? [String: Int] ?? [:]
        #expect(rejects["tcp_evictions"] == 1, "\(rejects)")
        #expect(rejects["tcp_frame_timeouts"] == 63, "\(rejects)")
        #expect(rejects["tcp_refused"] == 0, "\(rejects)")
    }

    @Test("a quiet sender between whole frames keeps its slot when all are taken: the newcomer is refused")
    func quietSenderIsNotEvicted() throws {
        let port = UInt16.random(in: 20_000...60_000)
        let (process, output, errors) = try TCP.startEngine(
            port: port,
            ["--max-connections", "1", "--stop-after-idle", "20s"]
        )
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        // A poller that sends a whole frame, then nothing for longer than the 5 s after which a slot's holder
        // may be evicted if its bytes complete no frame.
        let poller = try TCP.connect(port: port)
        #expect(TCP.send(poller, makeStream(series: 2, rounds: 3, device: "poller")[...]))
        usleep(6_000_000)
        let newcomer = try TCP.connect(port: port, from: "127.0.0.7")
        #expect(TCP.isClosedByPeer(newcomer, within: 5), "the newcomer was let in")
        close(newcomer)
        let later = makeStream(series: 2, rounds: 3, device: "poller", start: 1_793_577_630_000_000_000)
        #expect(TCP.send(poller, later[...]), "the poller was evicted")
        close(poller)
        let (status, summary, standardError) = try TCP.stopEngine(process, output: output, errors: errors)
        #expect(status == 0, "\(standardError)")
        let rejects = summary["rejects"] as? [String: Int] ?? [:]
        #expect(rejects["tcp_refused"] == 1 && rejects["tcp_evictions"] == 0, "\(rejects)")
        #expect(summary["samples_aggregated"] as? Int == 12)
    }

    /// Whether the binary under test was built with ThreadSanitizer, which reserves terabytes of address space
    /// and cannot run under a `ulimit -v`.
    static var executableIsSanitized: Bool {
        guard let binary = try? Data(contentsOf: CLI.executable, options: .alwaysMapped) else { return false }
        return binary.range(of: Data("__tsan_init".utf8)) != nil
    }

    @Test(
        "out of address space (ulimit -v), new senders are refused and the engine goes on",
        .disabled(if: HostileTCPTests.executableIsSanitized, "ThreadSanitizer cannot run under ulimit -v")
    )
    func addressSpaceExhausted() throws {
        let port = UInt16.random(in: 20_000...60_000)
        // About 450 MiB of address space at start (threads, runtime); each connection maps an 8 MiB read
        // buffer: 1.2 GiB leaves room for a few dozen connections.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = [
            "-c",
            "ulimit -v 1200000 && exec \"$0\" run --input tcp://127.0.0.1:\(port) --summary-json - "
                + "--max-connections 500 --max-connections-per-address 500 --stop-after-idle 2s",
            CLI.executable.path,
        ]
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        var held: [Int32] = []
        for index in 0..<300 { held.append(try TCP.connect(port: port, from: "127.0.1.\(1 + index % 200)")) }
        usleep(500_000)
        held.forEach { close($0) }
        usleep(300_000)
        // Their buffers are unmapped: a sender now is served.
        let good = try TCP.connect(port: port)
        #expect(TCP.send(good, makeStream(series: 5, rounds: 4, device: "good")[...]))
        close(good)
        let (status, summary, standardError) = try TCP.waitForEngine(process, output: output, errors: errors)
        #expect(status == 0, "\(standardError.suffix(2000))")
        #expect(((summary["rejects"] as? [String: Int])?["tcp_refused"] ?? 0) > 0, "\(summary)")
        #expect(standardError.contains("Cannot allocate memory"), "\(standardError.suffix(2000))")
        #expect(summary["samples_aggregated"] as? Int == 20)
    }

    @Test("a connection that sends only empty frames does not use its slot: a newcomer takes it after 5 s")
    func emptyFramesDoNotHoldASlot() throws {
        let port = UInt16.random(in: 20_000...60_000)
        let (process, output, errors) = try TCP.startEngine(
            port: port,
            ["--max-connections", "1", "--stop-after-idle", "20s"]
        )
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        let squatter = try TCP.connect(port: port, from: "127.0.0.6")
        var empty: [UInt8] = []
        [UInt8](repeating: 0, count: 8).withUnsafeBytes {
            NativeEncoder.appendFrame(typeRawValue: NativeFrameType.data.rawValue, payload: $0, to: &empty)
        }
        for _ in 0..<6 {
            TCP.send(squatter, empty[...])
            usleep(1_000_000)
        }
        let honest = try TCP.connect(port: port)
        #expect(TCP.send(honest, makeStream(series: 2, rounds: 3, device: "honest")[...]))
        #expect(TCP.isClosedByPeer(squatter, within: 5), "the squatter kept its slot")
        close(squatter)
        close(honest)
        let (status, summary, standardError) = try TCP.stopEngine(process, output: output, errors: errors)
        #expect(status == 0, "\(standardError)")
        #expect((summary["rejects"] as? [String: Int])?["tcp_evictions"] == 1)
        #expect(summary["samples_aggregated"] as? Int == 6)
    }

    @Test("one address holds at most --max-connections-per-address busy slots; other addresses still connect")
    func perAddressLimit() throws {
        let port = UInt16.random(in: 20_000...60_000)
        let (process, output, errors) = try TCP.startEngine(
            port: port,
            ["--max-connections-per-address", "2", "--stop-after-idle", "2s"]
        )
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        // Two busy senders from 127.0.0.3 (each has sent a whole frame); a third from there is refused.
        let busy = try (0..<2).map { index in
            let fd = try TCP.connect(port: port, from: "127.0.0.3")
            #expect(TCP.send(fd, makeStream(series: 2, rounds: 5, device: "busy-\(index)")[...]))
            return fd
        }
        usleep(300_000)
        let third = try TCP.connect(port: port, from: "127.0.0.3")
        #expect(TCP.isClosedByPeer(third, within: 5), "a third connection from one address was kept")
        close(third)
        // Another address is not affected.
        let other = try TCP.connect(port: port, from: "127.0.0.1")
        #expect(TCP.send(other, makeStream(series: 3, rounds: 5, device: "other")[...]))
        close(other)
        busy.forEach { close($0) }
        let (status, summary, standardError) = try TCP.waitForEngine(process, output: output, errors: errors)
        #expect(status == 0, "\(standardError)")
        #expect((summary["rejects"] as? [String: Int])?["tcp_refused"] == 1)
        #expect(summary["samples_aggregated"] as? Int == 2 * 2 * 5 + 3 * 5)
        #expect(standardError.contains("--max-connections-per-address"), "\(standardError)")
    }

    /// Peak RSS of an engine that takes `series × rounds` samples from one good sender, after `hostile`
    /// (given the port) has done its worst; and the summary.
    func runWithGoodSender(
        _ extra: [String],
        hostile: (UInt16) throws -> [Int32]
    ) throws -> (summary: [String: Any], standardError: String) {
        let port = UInt16.random(in: 20_000...60_000)
        let (process, output, errors) = try TCP.startEngine(port: port, extra + ["--stop-after-idle", "2s"])
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        let held = try hostile(port)
        let good = try TCP.connect(port: port, from: "127.0.0.1")
        #expect(TCP.send(good, makeStream(series: 5, rounds: 20, device: "good")[...]))
        close(good)
        held.forEach { close($0) }
        let (status, summary, standardError) = try TCP.waitForEngine(
            process,
            output: output,
            errors: errors,
            seconds: 60
        )
        #expect(status == 0, "\(standardError)")
        return (summary, standardError)
    }

    @Test("100 half-sent 4 MiB frames: read buffers stay within --tcp-buffer-limit, the good sender loses nothing")
    func halfSentFramesAreBounded() throws {
        let limits = [
            "--max-connections", "200", "--max-connections-per-address", "200", "--tcp-buffer-limit", "64MiB",
            "--tcp-frame-timeout", "5s",
        ]
        let quiet = try runWithGoodSender(limits) { _ in [] }
        let payloadBytes = NativeFormat.defaultMaxPayloadBytes
        let attacked = try runWithGoodSender(limits) { port in
            // A valid header claiming the largest payload, then all of it but the last 100 bytes.
            let header = NativeFrameHeaderBytes.valid(type: 2, payloadLength: UInt32(payloadBytes))
            let frame = header + [UInt8](repeating: 0, count: payloadBytes - 100)
            let senders = try (0..<100).map { index in
                try TCP.connect(port: port, from: "127.0.0.\(4 + index % 50)")
            }
            let sent = DispatchGroup()
            for fd in senders {
                var timeout = timeval(tv_sec: 10, tv_usec: 0)
                setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                Thread {
                    sent.enter()
                    TCP.send(fd, frame[...])
                    sent.leave()
                }.start()
            }
            usleep(200_000)
            _ = sent.wait(timeout: .now() + 30)
            return senders
        }
        let quietRSS = quiet.summary["peak_rss_bytes"] as? Int ?? 0
        let attackedRSS = attacked.summary["peak_rss_bytes"] as? Int ?? .max
        // 100 × 4 MiB would be 400 MiB held: the limit is 64 MiB (and a read of 4 MiB beyond it at most).
        #expect(attackedRSS - quietRSS < 96 << 20, "quiet \(quietRSS >> 20) MiB, attacked \(attackedRSS >> 20) MiB")
        #expect(attacked.summary["samples_aggregated"] as? Int == 5 * 20, "\(attacked.standardError)")
        let rejects = attacked.summary["rejects"] as? [String: Int] ?? [:]
        #expect((rejects["tcp_buffer_evictions"] ?? 0) > 0, "\(rejects)")
    }

    @Test("out of descriptors (ulimit -n below --max-connections): no busy loop, and it says so")
    func outOfDescriptors() throws {
        let port = UInt16.random(in: 20_000...60_000)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = [
            "-c",
            "ulimit -n 64 && exec \"$0\" run --input tcp://127.0.0.1:\(port) --summary-json - --no-anomaly "
                + "--no-forecast --shards 1 --stop-after-idle 3s --max-connections 200 "
                + "--max-connections-per-address 200",
            CLI.executable.path,
        ]
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        // The first connects when the engine listens; then 119 more without waiting for them to be accepted.
        var senders = [try TCP.connect(port: port)]
        for _ in 0..<119 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            _ = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Foundation.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            senders.append(fd)
        }
        defer { for fd in senders { close(fd) } }
        let (status, summary, standardError) = try TCP.waitForEngine(process, output: output, errors: errors)
        #expect(status == 0)
        let elapsed = summary["elapsed_seconds"] as? Double ?? 0
        let cpu = summary["cpu_seconds"] as? Double ?? .infinity
        #expect(cpu < elapsed / 2, "CPU \(cpu) s over \(elapsed) s: accept failing in a loop")
        #expect(standardError.contains("cannot accept TCP senders"), "\(standardError.suffix(2000))")
    }

    @Test("a connection the buffer limit closes while another is read is closed once: no frame timeout after")
    func bufferEvictionClosesOnce() throws {
        let port = UInt16.random(in: 20_000...60_000)
        let (process, output, errors) = try TCP.startEngine(
            port: port,
            [
                "--no-anomaly", "--no-forecast", "--shards", "1", "--stop-after-idle", "2s",
                "--tcp-buffer-limit", "5MiB", "--tcp-frame-timeout", "2s",
            ]
        )
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        // Another sender's 1.2 MB of whole frames: while it is read, the budget runs out and the heavy one is
        // closed (it is not ready in that round).
        let start: Int64 = 1_793_577_600_000_000_000
        // One frame of 1.2 MB: it has to be buffered whole, more than what the heavy one leaves of the budget.
        let encoder = NativeEncoder(samplesPerDataFrame: 60_000)
        var bytes: [UInt8] = []
        try encoder.appendSchemaFrames(
            [
                SchemaEntry(
                    wireID: 0,
                    descriptor: SeriesDescriptor(
                        key: SeriesKey(device: "r", interface: "et-0", metric: "rx_power_dbm"),
                        kind: .gauge,
                        unit: "dBm"
                    )
                )
            ],
            to: &bytes
        )
        let count = 60_000
        encoder.appendDataFrames(
            timestamps: (0..<count).map { start + Int64($0) * 1_000_000 },
            wireIDs: [UInt32](repeating: 0, count: count),
            values: [Double](repeating: 1, count: count),
            to: &bytes
        )
        // The heavy one: a valid header claiming 4 MiB, then all of it but 100 bytes; then it stays quiet.
        let payloadBytes = NativeFormat.defaultMaxPayloadBytes
        let heavy = try TCP.connect(port: port, from: "127.0.0.2")
        TCP.send(
            heavy,
            (NativeFrameHeaderBytes.valid(type: 2, payloadLength: UInt32(payloadBytes))
                + [UInt8](repeating: 0, count: payloadBytes - 100))[...]
        )
        usleep(500_000)
        let reader = try TCP.connect(port: port)
        TCP.send(reader, bytes[...])
        // Longer than the frame timeout, the reader sending a frame every 0.4 s (so the run goes on): a closed
        // connection left in the list would be closed again for it.
        for step in 0..<8 {
            var tick: [UInt8] = []
            encoder.appendDataFrames(
                timestamps: [start + Int64(count + step) * 1_000_000],
                wireIDs: [0],
                values: [1],
                to: &tick
            )
            TCP.send(reader, tick[...])
            usleep(400_000)
        }
        close(reader)
        close(heavy)
        let (status, summary, standardError) = try TCP.waitForEngine(process, output: output, errors: errors)
        #expect(status == 0)
        let rejects = summary["rejects"] as? [String: Int] ?? [:]
        #expect(rejects["tcp_buffer_evictions"] == 1, "\(rejects)")
        #expect(rejects["tcp_frame_timeouts"] == 0, "\(rejects) \(standardError)")
        #expect(summary["samples_aggregated"] as? Int == count + 8)
    }
}

/// A native frame header with valid checksums (the payload's is of nothing: it never arrives in full).
enum NativeFrameHeaderBytes {
    static func valid(type: UInt8, payloadLength: UInt32) -> [UInt8] {
        var header = [UInt8](repeating: 0, count: NativeFormat.headerByteCount)
        withUnsafeBytes(of: NativeFormat.magic.littleEndian) { header.replaceSubrange(0..<4, with: $0) }
        header[4] = NativeFormat.version
        header[5] = type
        withUnsafeBytes(of: payloadLength.littleEndian) { header.replaceSubrange(8..<12, with: $0) }
        let checksum = header.withUnsafeBytes {
            CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<NativeFormat.headerChecksummedByteCount]))
        }
        withUnsafeBytes(of: checksum.littleEndian) { header.replaceSubrange(20..<24, with: $0) }
        return header
    }
}
