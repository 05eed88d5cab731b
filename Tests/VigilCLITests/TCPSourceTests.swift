import Foundation
import Testing
import VigilCore
import VigilWire

@Suite("vigil run --input tcp://, end to end", .serialized)
struct TCPSourceTests {
    @Test(
        "two concurrent senders, each with its own schema and wire ids; one drops mid-frame and loses only that frame"
    )
    func twoConcurrentSenders() throws {
        let port = UInt16.random(in: 20_000...60_000)
        let (process, output, errors) = try TCP.startEngine(port: port, ["--stop-after-idle", "5s"])
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }

        // Both senders number their series from wire id 0: the engine must keep them apart.
        let first = makeStream(series: 3, rounds: 40, device: "sender-a")
        let second = makeStream(series: 5, rounds: 40, device: "sender-b")
        let a = try TCP.connect(port: port)
        let b = try TCP.connect(port: port)
        let half = first.count / 2
        // Dedicated threads, not the global queue: other tests running in parallel may hold all of its
        // threads, and a sender that starts late looks like an idle input to the engine.
        let done = DispatchSemaphore(value: 0)
        Thread {
            TCP.send(a, first[0..<half])
            usleep(100_000)
            TCP.send(a, first[half...])
            close(a)
            done.signal()
        }.start()
        Thread {
            TCP.send(b, second[0...])
            // A third of a frame more, then hang up: a torn frame.
            TCP.send(b, second[0..<30])
            close(b)
            done.signal()
        }.start()
        done.wait()
        done.wait()
        let (status, summary, stderrText) = try TCP.waitForEngine(process, output: output, errors: errors)
        #expect(status == 0, "\(stderrText)")
        #expect(summary["tcp_connections"] as? Int == 2)
        #expect(summary["series"] as? Int == 8)
        #expect(summary["samples"] as? Int == 3 * 40 + 5 * 40)
        let rejects = summary["rejects"] as? [String: Int] ?? [:]
        #expect(rejects["tcp_disconnects_mid_frame"] == 1)
        #expect(rejects["unknown_series"] == 0)
    }

    @Test("a sender quiet for --tcp-idle-timeout is disconnected and counted; its slot serves the next sender")
    func idleSenderIsDisconnected() throws {
        let port = UInt16.random(in: 20_000...60_000)
        let (process, output, errors) = try TCP.startEngine(
            port: port,
            ["--max-connections", "1", "--tcp-idle-timeout", "1s", "--stop-after-idle", "4s"]
        )
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }

        // The only slot: a sender that connects, declares its series, then says nothing.
        let quiet = try TCP.connect(port: port)
        let stream = makeStream(series: 2, rounds: 10, device: "quiet")
        TCP.send(quiet, stream[0..<40])
        // The engine closes it after a second: recv sees the end of the stream (bounded wait: 10 s).
        #expect(TCP.isClosedByPeer(quiet, within: 10), "the quiet sender was not disconnected")
        close(quiet)
        // The slot is free again: a second sender's samples all count.
        let next = try TCP.connect(port: port)
        TCP.send(next, makeStream(series: 3, rounds: 10, device: "next")[...])
        close(next)
        let (status, summary, stderrText) = try TCP.waitForEngine(process, output: output, errors: errors)
        #expect(status == 0, "\(stderrText)")
        #expect(stderrText.contains("sent nothing for 1s (--tcp-idle-timeout): closing"), "\(stderrText)")
        let rejects = summary["rejects"] as? [String: Int] ?? [:]
        #expect(rejects["tcp_idle_timeouts"] == 1)
        #expect(rejects["source_errors"] == 0, "the second sender was refused")
        #expect(summary["samples"] as? Int == 3 * 10)
    }

    @Test("a sender the engine is too busy to read (a 100k-series schema, a full pipeline) is not idle")
    func busyEngineIsNotAnIdleSender() throws {
        // Made before the engine starts: under ThreadSanitizer this takes longer than --stop-after-idle.
        let series = 100_000
        let stream = makeStream(series: series, rounds: 2)
        let port = UInt16.random(in: 20_000...60_000)
        let (process, output, errors) = try TCP.startEngine(
            port: port,
            ["--shards", "1", "--tcp-idle-timeout", "300ms", "--stop-after-idle", "3s"]
        )
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        let sender = try TCP.connect(port: port)
        var offset = 0
        var sendError: Int32 = 0
        while offset < stream.count {
            let written = stream[offset...].withUnsafeBytes {
                Foundation.send(sender, $0.baseAddress, min($0.count, 1 << 16), Int32(MSG_NOSIGNAL))
            }
            if written <= 0 {
                sendError = errno
                break
            }
            offset += written
        }
        close(sender)
        let (status, summary, stderrText) = try TCP.waitForEngine(process, output: output, errors: errors)
        #expect(status == 0, "\(stderrText)")
        #expect(sendError == 0, "the engine reset the connection: errno \(sendError)")
        #expect((summary["rejects"] as? [String: Int])?["tcp_idle_timeouts"] == 0, "\(stderrText)")
        #expect(summary["samples"] as? Int == series * 2)
    }

    @Test("a slow TCP input's closed windows reach a published rollup segment within --rollup-interval")
    func rollupsPublishedWhileRunning() throws {
        let port = UInt16.random(in: 20_000...60_000)
        let rollups = try CLI.temporaryDirectory("rollup-interval").appendingPathComponent("rollups")
        let process = Process()
        process.executableURL = CLI.executable
        process.arguments = [
            "run", "--input", "tcp://127.0.0.1:\(port)", "--rollups", rollups.path, "--rollup-interval", "1s",
            "--lateness", "0s", "--stop-after-idle", "30s",
        ]
        process.standardOutput = FileHandle.nullDevice
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }

        // 4 series, 30 rounds 10 s apart from a whole minute: windows at 0, 60, ..., 240 s. With no lateness
        // the engine's watermark reaches the last sample (290 s), which closes four windows per series
        // while the connection stays open, even in a shard whose last batch was stamped earlier; the fifth
        // closes at the end.
        let connection = try TCP.connect(port: port)
        TCP.send(connection, makeStream(series: 4, rounds: 30)[...])
        func segments() -> [String] {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: rollups.path)) ?? []
            return names.filter { $0.hasSuffix(".vgr") }
        }
        func publishedRows() throws -> Int {
            try CLI.run(["rollups", "cat", rollups.path, "--format", "csv"]).standardOutput.split(separator: "\n")
                .count - 1
        }
        let deadline = Date().addingTimeInterval(15)
        while try (segments().isEmpty || publishedRows() < 16) && Date() < deadline { usleep(200_000) }
        #expect(!segments().isEmpty, "no segment published while the input was open")
        #expect(try publishedRows() == 16, "every window the watermark passed, published while the input is open")
        #expect(process.isRunning, "the run is still going: the segments came from the interval, not the end")

        close(connection)
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        let stderrText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0, "\(stderrText)")
        // The drain at the end publishes the open windows too: five per series in all.
        let all = try CLI.run(["rollups", "cat", rollups.path, "--format", "csv"])
        #expect(all.standardOutput.split(separator: "\n").count == 1 + 20, "\(all.standardOutput)")
    }
}
