import Atomics
import Logging
import VigilCore

#if canImport(Glibc)
import Glibc
#endif

/// Listens on a TCP address and reads every connection as its own stream, on one thread with `poll`.
///
/// Each connection has its own decoder, read buffer and wire-id table, so senders never see each other's
/// schema. Backpressure: while the pipeline is full this thread waits inside `route`, stops reading all
/// sockets, and the kernel's TCP flow control slows the senders; nothing accepted is dropped.
/// A sender that disconnects mid-frame loses only that partial frame, reported with its offset.
/// Bound: at most `maximumConnections` at once; more are accepted and closed at once, counted and logged.
/// A connection that sends nothing for `idleTimeoutNanoseconds` is closed (counted, logged), so quiet or
/// abandoned senders cannot hold every slot.
final class TCPProducer {
    let context: ProducerContext
    let host: String
    let port: UInt16
    let maximumConnections: Int
    let idleTimeoutNanoseconds: Int64
    private var listener: Int32 = -1

    private final class Connection {
        let fd: Int32
        let name: String
        let ingestor: StreamIngestor
        /// When it last sent bytes (or connected), monotonic.
        var lastActivityNanoseconds: Int64
        init(fd: Int32, name: String, ingestor: StreamIngestor) {
            self.fd = fd
            self.name = name
            self.ingestor = ingestor
            self.lastActivityNanoseconds = ResourceUsage.monotonicNanoseconds()
        }
    }

    init(context: ProducerContext, host: String, port: UInt16, maximumConnections: Int, idleTimeoutNanoseconds: Int64) {
        self.context = context
        self.host = host
        self.port = port
        self.maximumConnections = maximumConnections
        self.idleTimeoutNanoseconds = idleTimeoutNanoseconds
    }

    /// Binds and listens; called before the engine reports that it is ready, so a bind error stops the run.
    func bind() throws {
        let name = "tcp://\(host):\(port)"
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host == "localhost" ? "127.0.0.1" : host, &address.sin_addr) == 1 else {
            throw SourceError(source: name, operation: "parse address", reason: "not an IPv4 address")
        }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SourceError(source: name, operation: "socket", errno: errno) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else {
            let code = errno
            Glibc.close(fd)
            throw SourceError(source: name, operation: "bind", errno: code)
        }
        guard listen(fd, 128) == 0 else {
            let code = errno
            Glibc.close(fd)
            throw SourceError(source: name, operation: "listen", errno: code)
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        listener = fd
        context.logger.info("listening on \(name)")
    }

    func run() {
        var connections: [Connection] = []
        var descriptors: [pollfd] = []
        while !context.stopRequested.load(ordering: .relaxed) {
            descriptors.removeAll(keepingCapacity: true)
            descriptors.append(pollfd(fd: listener, events: Int16(POLLIN), revents: 0))
            for connection in connections {
                descriptors.append(pollfd(fd: connection.fd, events: Int16(POLLIN), revents: 0))
            }
            let ready = poll(&descriptors, nfds_t(descriptors.count), 100)
            if ready < 0 {
                if errno == EINTR { continue }
                context.logger.error("poll failed: \(String(cString: strerror(errno)))")
                break
            }
            if ready == 0 {
                context.router.flush()
                closeIdle(&connections)
                context.expireIdleSources()
                continue
            }
            var bytesThisRound = 0
            var closed: [Int] = []
            for (offset, connection) in connections.enumerated() {
                let events = descriptors[offset + 1].revents
                guard events != 0 else { continue }
                let tail = connection.ingestor.writableTail
                let count = recv(connection.fd, tail.baseAddress, tail.count, 0)
                if count > 0 {
                    bytesThisRound += count
                    context.ingest(count, into: connection.ingestor)
                    // Ingesting may wait in `route` while the pipeline is full (or register a large schema):
                    // that time is ours, not the sender's, so its activity is noted after it.
                    connection.lastActivityNanoseconds = ResourceUsage.monotonicNanoseconds()
                } else if count == 0 || (errno != EAGAIN && errno != EINTR && errno != EWOULDBLOCK) {
                    if count < 0 {
                        context.logger.warning(
                            "\(connection.name): receive failed: \(String(cString: strerror(errno)))"
                        )
                    }
                    closed.append(offset)
                }
            }
            for offset in closed.reversed() {
                finish(connections.remove(at: offset))
            }
            if descriptors[0].revents & Int16(POLLIN) != 0 { accept(into: &connections) }
            if bytesThisRound < 64 << 10 { context.router.flush() }
            closeIdle(&connections)
            context.expireIdleSources()
        }
        for connection in connections { finish(connection, stopped: true) }
        if listener >= 0 { Glibc.close(listener) }
        listener = -1
        context.router.finish()
    }

    private func accept(into connections: inout [Connection]) {
        while true {
            var peer = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let fd = withUnsafeMutablePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.accept(listener, $0, &length)
                }
            }
            guard fd >= 0 else { return }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
            inet_ntop(AF_INET, &peer.sin_addr, &text, socklen_t(INET_ADDRSTRLEN))
            let name = "tcp \(String(cString: text)):\(UInt16(bigEndian: peer.sin_port))"
            guard connections.count < maximumConnections else {
                context.counters.sourceErrors.wrappingIncrement(ordering: .relaxed)
                context.logger.warning(
                    "\(name): refused, already \(maximumConnections) connections (--max-connections)"
                )
                Glibc.close(fd)
                continue
            }
            context.counters.tcpConnections.wrappingIncrement(ordering: .relaxed)
            // A new sender is activity: the idle timer must not stop the engine before its first bytes.
            context.noteInput()
            context.logger.info("\(name): connected")
            connections.append(
                Connection(
                    fd: fd,
                    name: name,
                    ingestor: context.makeIngestor(streamName: name, holdsClockAtOnce: false)
                )
            )
        }
    }

    /// Closes the connections that sent nothing for the idle timeout (a partial frame they hold is
    /// reported and counted like any disconnect mid-frame).
    private func closeIdle(_ connections: inout [Connection]) {
        guard idleTimeoutNanoseconds > 0, !connections.isEmpty else { return }
        let now = ResourceUsage.monotonicNanoseconds()
        connections.removeAll { connection in
            guard now - connection.lastActivityNanoseconds >= idleTimeoutNanoseconds else { return false }
            // Bytes waiting unread mean we were busy (backpressure), not that the sender was quiet.
            var probe = pollfd(fd: connection.fd, events: Int16(POLLIN), revents: 0)
            if poll(&probe, 1, 0) > 0 {
                connection.lastActivityNanoseconds = now
                return false
            }
            context.counters.tcpIdleTimeouts.wrappingIncrement(ordering: .relaxed)
            context.logger.warning(
                "\(connection.name): sent nothing for \(EventTime.describeDuration(nanoseconds: idleTimeoutNanoseconds)) (--tcp-idle-timeout): closing"
            )
            finish(connection)
            return true
        }
    }

    private func finish(_ connection: Connection, stopped: Bool = false) {
        if connection.ingestor.finish(stopped: stopped) && !stopped {
            context.counters.tcpDisconnectsMidFrame.wrappingIncrement(ordering: .relaxed)
        }
        Glibc.close(connection.fd)
        context.logger.info("\(connection.name): closed")
    }
}
