import Foundation
import Testing

/// What the tests against real peers (softflowd, pmacctd, nfcapd, tshark) need: finding the tools, a capture
/// of ordinary traffic for the exporters to meter, child processes whose output is read as they run, a UDP
/// relay that hands one exporter's datagrams to several collectors and keeps a capture of them, nfcapd, and
/// a `vigil run --input udp://` whose port is read from its log. Everything binds 127.0.0.1 only, every wait
/// is bounded, and children are stopped by their own PID.
enum Peer {
    /// The path of `name` in the usual system directories, or nil (the test then skips and says so).
    static func tool(_ name: String) -> String? {
        ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin", "/sbin", "/bin"]
            .map { "\($0)/\(name)" }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// The tools of `names` that are missing; prints one SKIPPED line naming them (and the package) if any.
    static func missing(_ names: [String], for test: String) -> Bool {
        let absent = names.filter { tool($0) == nil }
        if absent.isEmpty { return false }
        print(
            "SKIPPED \(test): \(absent.joined(separator: ", ")) not installed "
                + "(make deps installs tshark softflowd pmacct nfdump)"
        )
        return true
    }

    /// A UDP port on 127.0.0.1 that was free a moment ago (bound, read, closed).
    static func freeUDPPort() -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        return UInt16(bigEndian: address.sin_port)
    }

    /// Runs `path arguments…` to its end (at most `seconds`) and returns its status and standard output.
    static func run(_ path: String, _ arguments: [String], seconds: Double = 60) throws -> (Int32, String) {
        let child = try Child(path, arguments)
        let exited = child.waitForExit(seconds: seconds)
        if !exited { child.stop() }
        return (exited ? child.terminationStatus : -1, child.output)
    }
}

/// Bytes a reader thread appends and the test thread reads, behind a lock.
final class GrowingText: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()

    func append(_ chunk: Data) {
        lock.lock()
        data.append(chunk)
        lock.unlock()
    }

    var text: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: data, as: UTF8.self)
    }
}

/// A child process whose standard output and standard error are read as it runs (standard error kept apart
/// when `separateErrors`), so a test can wait for a line, and which is stopped by its PID.
///
/// Spawned with `posix_spawn`, not Foundation's `Process`: a child inherits the signal mask of the thread that
/// starts it, and the test runner's threads block SIGTERM and SIGINT, so a daemon started by `Process` could
/// not be stopped by them (nfcapd and softflowd ignored SIGTERM that way). Here the child starts with no signal
/// blocked and the default action for the usual ones, and is reaped with `waitpid` on its own PID.
final class Child {
    let pid: pid_t
    private let outputText = GrowingText()
    private let errorText = GrowingText()
    private let readersDone = DispatchSemaphore(value: 0)
    private var readers = 0
    private var readersJoined = false
    private var exitStatus: Int32?

    init(_ path: String, _ arguments: [String], separateErrors: Bool = false) throws {
        var outputPipe: [Int32] = [-1, -1]
        var errorPipe: [Int32] = [-1, -1]
        guard pipe(&outputPipe) == 0, !separateErrors || pipe(&errorPipe) == 0 else { throw POSIXError(.EMFILE) }
        // Close-on-exec, so that no other child keeps a write end open (its reader would never see the end).
        for fd in outputPipe + errorPipe where fd >= 0 { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, outputPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, separateErrors ? errorPipe[1] : outputPipe[1], 2)
        // Nothing else of the test process: tests running beside this one hold pipes to their own children,
        // and a long-lived daemon holding a write end would keep their readers from seeing the end.
        // (glibc 2.34's posix_spawn_file_actions_addclosefrom_np, which Swift's Glibc module does not export.)
        if let closeFrom = Self.addCloseFrom { _ = closeFrom(&actions, 3) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2] {
            sigaddset(&defaults, signal)
        }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var child: pid_t = 0
        let spawned = posix_spawn(&child, path, &actions, &attributes, argv, environ)
        close(outputPipe[1])
        if separateErrors { close(errorPipe[1]) }
        guard spawned == 0 else {
            close(outputPipe[0])
            if separateErrors { close(errorPipe[0]) }
            throw POSIXError(POSIXErrorCode(rawValue: spawned) ?? .ENOEXEC)
        }
        pid = child
        startReader(outputPipe[0], into: outputText)
        if separateErrors { startReader(errorPipe[0], into: errorText) }
    }

    private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    private static let addCloseFrom: AddCloseFrom? = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np").map {
        unsafeBitCast($0, to: AddCloseFrom.self)
    }

    private func startReader(_ fd: Int32, into text: GrowingText) {
        readers += 1
        let done = readersDone
        Thread {
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while true {
                let count = read(fd, &buffer, buffer.count)
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { break }
                text.append(Data(buffer[0..<count]))
            }
            close(fd)
            done.signal()
        }.start()
    }

    /// Standard output (and standard error, unless kept apart) so far.
    var output: String { outputText.text }
    var errors: String { errorText.text }

    /// Whether the child still runs (reaps it when it has exited).
    var isRunning: Bool {
        if exitStatus != nil { return false }
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        if result == pid || (result < 0 && errno == ECHILD) {
            // Exited normally: its code; killed: 128 + the signal, as a shell says.
            let signal = status & 0x7F
            exitStatus = result < 0 ? -1 : (signal == 0 ? (status >> 8) & 0xFF : 128 + signal)
            return false
        }
        return true
    }

    /// The exit code (128 + signal when killed), once exited.
    var terminationStatus: Int32 { isRunning ? -1 : exitStatus! }

    /// Waits (at most `seconds`) until `predicate` holds for the output (or standard error when kept apart).
    @discardableResult
    func waitFor(seconds: Double, inErrors: Bool = false, _ predicate: (String) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if predicate(inErrors ? errors : output) { return true }
            if !isRunning { return predicate(inErrors ? errors : output) }
            usleep(20_000)
        }
        return false
    }

    /// Waits (at most `seconds`) for the child to exit, then for its output to be read to the end.
    @discardableResult
    func waitForExit(seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while isRunning && Date() < deadline { usleep(20_000) }
        if isRunning { return false }
        joinReaders()
        return true
    }

    private func joinReaders() {
        guard !readersJoined else { return }
        readersJoined = true
        for _ in 0..<readers { readersDone.wait() }
    }

    /// Sends `signal` to the child's PID (only while it runs).
    func signal(_ signal: Int32) {
        if isRunning { kill(pid, signal) }
    }

    /// SIGTERM, up to 5 s to exit, then SIGKILL.
    func stop() {
        signal(SIGTERM)
        if !waitForExit(seconds: 5) {
            signal(SIGKILL)
            _ = waitForExit(seconds: 5)
        }
    }

    deinit {
        if isRunning {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
    }
}

/// A UDP relay on 127.0.0.1: every datagram it receives goes on, unchanged, to each collector port, and is
/// kept, so that the test can write a capture of exactly what the exporter sent (for `vigil inspect` and
/// tshark). Bounded: at most `maximumDatagrams` are kept; it stops when told or when its owner is dropped.
final class UDPRelay: @unchecked Sendable {
    static let maximumDatagrams = 100_000
    let port: UInt16
    private let fd: Int32
    private let lock = NSLock()
    private var datagrams: [(sourcePort: UInt16, payload: [UInt8])] = []
    private var lastArrival = Date()
    private var stopping = false
    private let stopped = DispatchSemaphore(value: 0)

    init(forwardingTo collectors: [UInt16]) throws {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        self.fd = fd
        var size: Int32 = 8 << 20
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else {
            close(fd)
            throw POSIXError(.EADDRINUSE)
        }
        port = UInt16(bigEndian: address.sin_port)
        var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let targets = collectors.map { port -> sockaddr_in in
            var target = sockaddr_in()
            target.sin_family = sa_family_t(AF_INET)
            target.sin_addr.s_addr = inet_addr("127.0.0.1")
            target.sin_port = port.bigEndian
            return target
        }
        Thread { [self] in relay(to: targets) }.start()
    }

    private func relay(to targets: [sockaddr_in]) {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            lock.lock()
            let done = stopping
            lock.unlock()
            if done { break }
            var from = sockaddr_in()
            var fromLength = socklen_t(MemoryLayout<sockaddr_in>.size)
            let count = withUnsafeMutablePointer(to: &from) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    recvfrom(fd, &buffer, buffer.count, 0, $0, &fromLength)
                }
            }
            if count <= 0 { continue }
            for var target in targets {
                _ = withUnsafePointer(to: &target) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(fd, buffer, count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
            }
            lock.lock()
            if datagrams.count < Self.maximumDatagrams {
                datagrams.append((UInt16(bigEndian: from.sin_port), Array(buffer[0..<count])))
            }
            lastArrival = Date()
            lock.unlock()
        }
        stopped.signal()
    }

    /// Waits (at most `seconds`) until at least one datagram came and then none for `quietSeconds`.
    @discardableResult
    func waitUntilQuiet(quietSeconds: Double, seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            lock.lock()
            let quiet = !datagrams.isEmpty && Date().timeIntervalSince(lastArrival) >= quietSeconds
            lock.unlock()
            if quiet { return true }
            usleep(50_000)
        }
        return false
    }

    /// Stops relaying (bounded by the 100 ms receive timeout) and returns what was relayed.
    func stop() -> [(sourcePort: UInt16, payload: [UInt8])] {
        lock.lock()
        let already = stopping
        stopping = true
        lock.unlock()
        if !already {
            stopped.wait()
            close(fd)
        }
        lock.lock()
        defer { lock.unlock() }
        return datagrams
    }

    deinit { _ = stop() }

    /// Writes `datagrams` as a classic pcap (link type raw IPv4) from 127.0.0.1:sourcePort to
    /// 127.0.0.1:`destinationPort`.
    static func writeCapture(
        _ datagrams: [(sourcePort: UInt16, payload: [UInt8])],
        destinationPort: UInt16,
        to path: String
    ) throws {
        var file = PcapFile(linkType: 101)
        for (index, datagram) in datagrams.enumerated() {
            var packet = RawTraffic.ipv4Header(
                protocolNumber: 17,
                source: [127, 0, 0, 1],
                destination: [127, 0, 0, 1],
                payloadBytes: 8 + datagram.payload.count,
                identification: UInt16(truncatingIfNeeded: index)
            )
            packet += RawTraffic.be16(datagram.sourcePort) + RawTraffic.be16(destinationPort)
            packet += RawTraffic.be16(UInt16(8 + datagram.payload.count)) + [0, 0]
            packet += datagram.payload
            file.append(packet, seconds: 1_800_000_000 + UInt32(index / 1_000), microseconds: UInt32(index % 1_000))
        }
        try Data(file.bytes).write(to: URL(fileURLWithPath: path))
    }
}

/// A classic pcap file (microsecond timestamps), built in memory.
struct PcapFile {
    var bytes: [UInt8] = []

    init(linkType: UInt32) {
        bytes += RawTraffic.le32(0xA1B2_C3D4) + [2, 0, 4, 0] + RawTraffic.le32(0) + RawTraffic.le32(0)
        bytes += RawTraffic.le32(65_535) + RawTraffic.le32(linkType)
    }

    mutating func append(_ packet: [UInt8], seconds: UInt32, microseconds: UInt32) {
        bytes += RawTraffic.le32(seconds) + RawTraffic.le32(microseconds)
        bytes += RawTraffic.le32(UInt32(packet.count)) + RawTraffic.le32(UInt32(packet.count)) + packet
    }
}

/// Ordinary traffic for a flow exporter to meter: Ethernet frames of IPv4 TCP, UDP and ICMP packets, a few
/// per 5-tuple, interleaved, 10 ms apart, all within a second or so (so no exporter timeout splits a flow).
enum RawTraffic {
    struct Totals {
        var flows = 0
        var packets = 0
        /// IP bytes (header included): what NetFlow's `dOctets` counts.
        var ipBytes = 0
        /// Bytes per (source, destination, protocol, source port, destination port) as nfdump prints them.
        var flowKeys: [String: (packets: Int, bytes: Int)] = [:]
    }

    static func be16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }
    static func be32(_ value: UInt32) -> [UInt8] { be16(UInt16(value >> 16)) + be16(UInt16(value & 0xFFFF)) }
    static func le32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8((value >> (8 * $0)) & 0xFF) } }

    static func checksum(_ bytes: [UInt8]) -> UInt16 {
        var sum: UInt32 = 0
        var index = 0
        while index + 1 < bytes.count {
            sum += UInt32(bytes[index]) << 8 | UInt32(bytes[index + 1])
            index += 2
        }
        if index < bytes.count { sum += UInt32(bytes[index]) << 8 }
        while sum > 0xFFFF { sum = (sum & 0xFFFF) + (sum >> 16) }
        return ~UInt16(sum)
    }

    static func ipv4Header(
        protocolNumber: UInt8,
        source: [UInt8],
        destination: [UInt8],
        payloadBytes: Int,
        identification: UInt16
    ) -> [UInt8] {
        var header: [UInt8] = [0x45, 0] + be16(UInt16(20 + payloadBytes)) + be16(identification) + [0, 0]
        header += [64, protocolNumber, 0, 0] + source + destination
        let sum = checksum(header)
        header[10] = UInt8(sum >> 8)
        header[11] = UInt8(sum & 0xFF)
        return header
    }

    /// Writes `flows` flows of `packetsPerFlow` packets each (TCP, UDP and ICMP in turn) to `path` and
    /// returns what an exporter should report.
    static func writeCapture(to path: String, flows: Int = 36, packetsPerFlow: Int = 10) throws -> Totals {
        var file = PcapFile(linkType: 1)
        var totals = Totals()
        var sequence = 0
        for round in 0..<packetsPerFlow {
            for flow in 0..<flows {
                let protocolNumber: UInt8 = [6, 17, 1][flow % 3]
                let source: [UInt8] = [10, 0, UInt8(flow / 200), UInt8(1 + flow % 200)]
                let destination: [UInt8] = [10, 1, 0, UInt8(1 + flow % 7)]
                let sourcePort = UInt16(20_000 + flow)
                let destinationPort: UInt16 = [443, 53, 0][flow % 3]
                let payload = [UInt8](repeating: UInt8(flow), count: 16 + flow * 5 + round)
                var transport: [UInt8]
                switch protocolNumber {
                case 6:
                    let flags: UInt8 = round == 0 ? 0x02 : 0x18  // SYN, then PSH+ACK; no FIN or RST
                    transport = be16(sourcePort) + be16(destinationPort) + be32(UInt32(round * 1_000)) + be32(0)
                    transport += [0x50, flags] + be16(65_535) + [0, 0, 0, 0] + payload
                case 17:
                    transport = be16(sourcePort) + be16(destinationPort) + be16(UInt16(8 + payload.count)) + [0, 0]
                    transport += payload
                default:
                    transport = [8, 0, 0, 0] + be16(UInt16(flow)) + be16(UInt16(round)) + payload
                    let sum = checksum(transport)
                    transport[2] = UInt8(sum >> 8)
                    transport[3] = UInt8(sum & 0xFF)
                }
                let ip =
                    ipv4Header(
                        protocolNumber: protocolNumber,
                        source: source,
                        destination: destination,
                        payloadBytes: transport.count,
                        identification: UInt16(truncatingIfNeeded: sequence)
                    ) + transport
                let frame = [0x02, 0, 0, 0, 0, 1] + [0x02, 0, 0, 0, 0, 2] + [0x08, 0x00] + ip
                let microseconds = sequence * 2_000
                file.append(
                    frame,
                    seconds: 1_800_000_000 + UInt32(microseconds / 1_000_000),
                    microseconds: UInt32(microseconds % 1_000_000)
                )
                sequence += 1
                totals.packets += 1
                totals.ipBytes += ip.count
                let ports = protocolNumber == 1 ? "" : ",\(sourcePort),\(destinationPort)"
                let key =
                    "\(source.map(String.init).joined(separator: ".")),"
                    + "\(destination.map(String.init).joined(separator: ".")),\(protocolNumber)\(ports)"
                totals.flowKeys[key, default: (0, 0)].packets += 1
                totals.flowKeys[key, default: (0, 0)].bytes += ip.count
            }
        }
        totals.flows = flows
        try Data(file.bytes).write(to: URL(fileURLWithPath: path))
        return totals
    }
}

/// nfcapd (nfdump's collector) on 127.0.0.1, writing into a directory; read back with nfdump.
final class Nfcapd {
    let port: UInt16
    let directory: URL
    private let child: Child

    init(directory: URL) throws {
        self.directory = directory
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        port = Peer.freeUDPPort()
        // nfdump 1.7 names the directory with -w; 1.6 used -l.
        let (_, help) = try Peer.run(Peer.tool("nfcapd")!, ["-h"], seconds: 10)
        let directoryFlag = help.contains("-w flowdir") ? "-w" : "-l"
        child = try Child(
            Peer.tool("nfcapd")!,
            ["-b", "127.0.0.1", "-p", "\(port)", directoryFlag, directory.path, "-t", "3600"]
        )
        let ready = child.waitFor(seconds: 10) { $0.contains("Startup") || $0.contains("Bound to") }
        #expect(ready, "nfcapd did not start: \(child.output)")
    }

    /// Stops nfcapd (SIGTERM: it writes its file) and returns its log.
    @discardableResult
    func stop() -> String {
        child.stop()
        return child.output
    }

    /// `nfdump -R DIR -I`: the totals over every file (Flows, Packets, Bytes, ...).
    func totals() throws -> [String: Int] {
        let (status, text) = try Peer.run(Peer.tool("nfdump")!, ["-R", directory.path, "-I"])
        #expect(status == 0, "\(text)")
        var totals: [String: Int] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if parts.count == 2, let value = Int(parts[1]) { totals[parts[0]] = value }
        }
        return totals
    }

    /// `nfdump -R DIR -q -N -o csv`: per flow, the key `src,dst,proto[,sport,dport]` (ports for TCP and UDP
    /// only) with its packets and bytes; flows with the same key are added.
    func flows() throws -> [String: (packets: Int, bytes: Int)] {
        let (status, text) = try Peer.run(Peer.tool("nfdump")!, ["-R", directory.path, "-q", "-N", "-o", "csv"])
        #expect(status == 0, "\(text)")
        var flows: [String: (packets: Int, bytes: Int)] = [:]
        let protocols = ["TCP": "6", "UDP": "17", "ICMP": "1"]
        for line in text.split(separator: "\n") {
            let columns = line.split(separator: ",", omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            guard columns.count > 12, columns[0].first?.isNumber == true,
                let packets = Int(columns[11]), let bytes = Int(columns[12])
            else { continue }
            let number = protocols[columns[7]] ?? columns[7]
            let ports = number == "1" ? "" : ",\(columns[5]),\(columns[6])"
            let key = "\(columns[3]),\(columns[4]),\(number)\(ports)"
            flows[key, default: (0, 0)].packets += packets
            flows[key, default: (0, 0)].bytes += bytes
        }
        return flows
    }
}

/// `vigil run --input udp://127.0.0.1:0 --rollups DIR --summary-json -`, its port read from its log.
final class VigilUDPRun {
    let port: UInt16
    let rollups: URL
    private let child: Child

    init(rollups: URL, _ extra: [String] = []) throws {
        self.rollups = rollups
        child = try Child(
            CLI.executable.path,
            ["run", "--input", "udp://127.0.0.1:0", "--rollups", rollups.path, "--summary-json", "-"] + extra,
            separateErrors: true
        )
        var found: UInt16?
        child.waitFor(seconds: 20, inErrors: true) { log in
            guard let range = log.range(of: "listening on udp://127.0.0.1:") else { return false }
            let digits = log[range.upperBound...].prefix { $0.isNumber }
            found = UInt16(digits)
            return found != nil
        }
        guard let found else {
            child.stop()
            Issue.record("vigil did not log its UDP port: \(child.errors)")
            throw POSIXError(.ETIMEDOUT)
        }
        port = found
    }

    /// Stops the engine as a user does (SIGINT: it drains what the socket holds) and returns its summary and
    /// log.
    func stop() throws -> (status: Int32, summary: [String: Any], log: String) {
        usleep(300_000)
        child.signal(SIGINT)
        let exited = child.waitForExit(seconds: 30)
        #expect(exited, "vigil did not stop on SIGINT")
        if !exited { child.stop() }
        return (child.terminationStatus, try CLI.json(child.output), child.errors)
    }

    /// Per metric and direction, what the run counted (``FlowInputTests/countedTotals(rollups:)``).
    func counterTotals() throws -> [String: Double] { try FlowInputTests.countedTotals(rollups: rollups.path) }
}
