import Foundation
import Testing

/// Senders and an engine for the tests that drive `vigil run --input tcp://`: real sockets on 127.0.0.1 (or
/// another loopback address, so that per-address limits can be tested), ports the test picks.
enum TCP {
    /// Connects to 127.0.0.1:port from `sourceAddress` (any 127.x.y.z), retrying while the engine starts
    /// (bounded: 10 s).
    static func connect(port: UInt16, from sourceAddress: String? = nil) throws -> Int32 {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            if let sourceAddress {
                var local = sockaddr_in()
                local.sin_family = sa_family_t(AF_INET)
                local.sin_addr.s_addr = inet_addr(sourceAddress)
                _ = withUnsafePointer(to: &local) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        Foundation.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
            }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Foundation.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            if connected == 0 { return fd }
            close(fd)
            usleep(50_000)
        }
        throw POSIXError(.ECONNREFUSED)
    }

    /// Sends all of `bytes`, or stops at the first error (the engine closed the connection).
    /// - Returns: whether everything was sent.
    @discardableResult
    static func send(_ fd: Int32, _ bytes: ArraySlice<UInt8>) -> Bool {
        var offset = bytes.startIndex
        while offset < bytes.endIndex {
            let written = bytes[offset...].withUnsafeBytes {
                Foundation.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            if written <= 0 { return false }
            offset += written
        }
        return true
    }

    /// Whether the engine closed `fd` (a read sees the end of the stream or a reset), waiting at most
    /// `seconds`.
    static func isClosedByPeer(_ fd: Int32, within seconds: Int) -> Bool {
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var byte: UInt8 = 0
        while true {
            let count = recv(fd, &byte, 1, 0)
            if count == 0 || (count < 0 && errno == ECONNRESET) { return true }
            if count < 0 { return false }
        }
    }

    /// Starts `vigil run --input tcp://127.0.0.1:port --summary-json - extra…`, standard output and error piped.
    static func startEngine(port: UInt16, _ extra: [String]) throws -> (Process, output: Pipe, errors: Pipe) {
        let process = Process()
        process.executableURL = CLI.executable
        process.arguments = ["run", "--input", "tcp://127.0.0.1:\(port)", "--summary-json", "-"] + extra
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        return (process, output, errors)
    }

    /// Stops the engine the way a user does (SIGINT: it drains), a moment after the senders' last bytes, and
    /// returns its status, summary and standard error.
    static func stopEngine(_ process: Process, output: Pipe, errors: Pipe) throws -> (Int32, [String: Any], String) {
        usleep(300_000)
        kill(process.processIdentifier, SIGINT)
        return try waitForEngine(process, output: output, errors: errors)
    }

    /// Waits (at most `seconds`) for the engine to stop by itself; returns its status, summary and standard
    /// error.
    static func waitForEngine(
        _ process: Process,
        output: Pipe,
        errors: Pipe,
        seconds: Double = 30
    ) throws -> (Int32, [String: Any], String) {
        // Both pipes are read on threads of their own while waiting: a chatty engine must not block on a
        // full pipe.
        let outData = DataBox()
        let errData = DataBox()
        let readersDone = DispatchSemaphore(value: 0)
        Thread {
            outData.set(output.fileHandleForReading.readDataToEndOfFile())
            readersDone.signal()
        }.start()
        Thread {
            errData.set(errors.fileHandleForReading.readDataToEndOfFile())
            readersDone.signal()
        }.start()
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        #expect(!process.isRunning, "the engine did not stop by itself (--stop-after-idle)")
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        readersDone.wait()
        readersDone.wait()
        let standardError = String(decoding: errData.get(), as: UTF8.self)
        let summary = try CLI.json(String(decoding: outData.get(), as: UTF8.self))
        return (process.terminationStatus, summary, standardError)
    }
}
