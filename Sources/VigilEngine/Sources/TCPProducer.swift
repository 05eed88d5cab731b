import Atomics
import CVigilNative
import Logging
import VigilCore

#if canImport(Glibc)
import Glibc
#endif

/// The limits a TCP listener holds its senders to, so that no sender, and no crowd of them, can starve the
/// others (docs/architecture.md, "Bounds").
struct TCPLimits: Sendable {
    /// Connections at once (`--max-connections`).
    var maximumConnections = 64
    /// Connections at once from one remote address (`--max-connections-per-address`).
    var maximumConnectionsPerAddress = 16
    /// A sender that sends nothing for this long is closed (`--tcp-idle-timeout`); 0: never.
    var idleTimeoutNanoseconds: Int64 = 600 * EventTime.nanosecondsPerSecond
    /// A sender whose bytes do not complete a valid frame within this long is closed (`--tcp-frame-timeout`):
    /// a slow or trickling sender cannot hold a slot, or a half-sent frame, for ever.
    var frameTimeoutNanoseconds: Int64 = 30 * EventTime.nanosecondsPerSecond
    /// Bytes all connections may hold in read buffers (partial frames) at once (`--tcp-buffer-limit`).
    var bufferLimitBytes = 256 << 20
    /// When every slot is taken, a new sender takes the slot of a connection whose bytes have completed no
    /// frame for at least this long (trickling, stalled), or that has sent no sample this long after connecting.
    /// A sender between whole frames is never taken for one, however quiet.
    var evictableAfterNanoseconds: Int64 = 5 * EventTime.nanosecondsPerSecond
}

/// Listens on a TCP address and reads every connection as its own stream, on one thread with `poll`.
///
/// Each connection has its own decoder, read buffer, wire-id table and event-time source, so senders never
/// see each other's schema or clock. Backpressure: while the pipeline is full this thread waits inside
/// `route`, stops reading all sockets, and the kernel's TCP flow control slows the senders; nothing accepted
/// is dropped. A sender that disconnects mid-frame loses only that partial frame, reported with its offset.
///
/// Against senders that would starve the others (every rule counted and logged):
/// - at most `maximumConnections`, and `maximumConnectionsPerAddress` from one address; when full, a new
///   sender takes the slot of a connection that is not using it (bytes completing no frame, or no frame since
///   it connected, for `evictableAfterNanoseconds`: `tcp_evictions`), and is refused otherwise (`tcp_refused`);
/// - a connection whose bytes do not complete a valid frame within `frameTimeoutNanoseconds` is closed
///   (`tcp_frame_timeouts`), and one that sends nothing for `idleTimeoutNanoseconds` (`tcp_idle_timeouts`);
///   time the engine spends busy (a full pipeline) does not count against either;
/// - read buffers hold at most `bufferLimitBytes` in all: a read takes only what fits, pages of consumed
///   bytes are given back when space runs short, and then the connection holding the most unfinished bytes
///   is closed (`tcp_buffer_evictions`).
final class TCPProducer {
    let context: ProducerContext
    let host: String
    let port: UInt16
    let limits: TCPLimits
    private var listener: Int32 = -1
    private var epoll: Int32 = -1
    private var connections: [Connection] = []
    private var connectionsByDescriptor: [Int32: Connection] = [:]
    /// Bytes of read buffers all connections hold (their `residentBytes`), kept up to date.
    private var residentBytes = 0
    /// Time this thread spent handing bytes to the engine (decoding, waiting for room in the pipeline):
    /// it is not a sender's time, so deadlines are extended by it.
    private var busyNanoseconds: Int64 = 0
    /// While set, the listener is out of epoll until then: `accept` ran out of descriptors.
    private var acceptingPausedUntil: Int64?
    private var lastAcceptFailureLogged: Int64 = .min

    /// Stops watching the listener for 100 ms after `accept` failed for want of descriptors or memory
    /// (logged at most every 10 s).
    private func pauseAccepting(_ code: Int32) {
        let now = ResourceUsage.monotonicNanoseconds()
        watch(listener, events: 0, operation: EPOLL_CTL_DEL)
        acceptingPausedUntil = now + 100_000_000
        if lastAcceptFailureLogged == .min || now - lastAcceptFailureLogged >= 10 * EventTime.nanosecondsPerSecond {
            lastAcceptFailureLogged = now
            context.logger.error(
                "cannot accept TCP senders: \(String(cString: strerror(code))) (\(connections.count) connected; raise the descriptor limit, ulimit -n, or lower --max-connections); they wait in the backlog"
            )
        }
    }

    /// The connection whose bytes are being decoded (its session is in use: not to be read meanwhile).
    private var reading: Connection?

    /// Closes the open connections of `sender` but the one being read: it said its hello on a new one, so the
    /// old ones are dead on its side (a cut Vigil has not seen). Their sources go to ``DisconnectedSenders``,
    /// for the new one to take back.
    private func closeStreams(of sender: UInt64) {
        for connection in connections
        where connection.fd >= 0 && connection !== reading && connection.ingestor.session.hello?.senderID == sender {
            context.logger.notice(
                "\(connection.name): sender \(sender) connected again on another connection: closing this one"
            )
            finish(connection, because: .limit)
        }
    }

    /// Whether `finish` closed a connection that may still be in `connections` (removed once per round).
    private var closedSinceSweep = false

    /// Reads below this are not worth a system call: when less fits in the budget, room is made first.
    static let minimumReadBytes = 64 << 10
    /// Acknowledgement bytes waiting for a sender that does not read them, at most (then they are dropped).
    static let maximumOutgoingBytes = 64 << 10

    private final class Connection {
        /// -1 once closed (until the connection is taken out of the list).
        var fd: Int32
        let name: String
        let address: UInt32
        let ingestor: StreamIngestor
        /// When it last sent bytes (or connected), monotonic.
        var lastActivityNanoseconds: Int64
        /// When the bytes that have not completed a frame yet began to arrive (nil: none), and the
        /// producer's busy time then; the frame deadline runs from there, extended by busy time since.
        var pendingSinceNanoseconds: Int64?
        var busyAtPendingStart: Int64 = 0
        /// Valid frames it completed so far: a new one ends the frame deadline.
        var framesSeen = 0
        /// Samples its frames carried so far (retries skipped included): empty frames do not use a slot.
        var samplesSeen = 0
        /// The `residentBytes` counted for it in the producer's total.
        var countedResidentBytes = 0
        /// Acknowledgement frames not yet sent (the socket's send buffer was full), from `outgoingOffset` on.
        var outgoing: [UInt8] = []
        var outgoingOffset = 0
        var hasOutgoing: Bool { outgoingOffset < outgoing.count }
        /// Whether epoll also reports it writable (while acknowledgements wait).
        var watchesWrites = false

        init(fd: Int32, name: String, address: UInt32, ingestor: StreamIngestor, now: Int64, busy: Int64) {
            self.fd = fd
            self.name = name
            self.address = address
            self.ingestor = ingestor
            self.lastActivityNanoseconds = now
            self.connectedNanoseconds = now
            self.busyAtConnect = busy
        }

        let connectedNanoseconds: Int64
        let busyAtConnect: Int64

        /// How long it has been holding a slot without using it, not counting what the engine spent busy: bytes
        /// that complete no frame (trickling, stalled mid-frame), or no sample at all since it connected (empty
        /// frames and schemas alone do not use a slot). Nil for a sender between frames that has sent samples: a
        /// quiet sender that sends whole frames now and then (a poller every minute) is using its slot.
        func unproductiveNanoseconds(now: Int64, busy: Int64) -> Int64? {
            if let pendingSinceNanoseconds { return now - pendingSinceNanoseconds - (busy - busyAtPendingStart) }
            guard samplesSeen == 0 else { return nil }
            return now - connectedNanoseconds - (busy - busyAtConnect)
        }
    }

    init(context: ProducerContext, host: String, port: UInt16, limits: TCPLimits) {
        self.context = context
        self.host = host
        self.port = port
        self.limits = limits
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
        // epoll, not poll: with thousands of connections, a round costs what is ready, not what is open.
        let epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard epoll >= 0 else {
            context.logger.error("epoll_create1 failed: \(String(cString: strerror(errno)))")
            context.router.finish()
            return
        }
        self.epoll = epoll
        watch(listener, events: EPOLLIN.rawValue, operation: EPOLL_CTL_ADD)
        context.disconnectedSenders.closeOtherStreams = { [unowned self] sender in closeStreams(of: sender) }
        defer { context.disconnectedSenders.closeOtherStreams = nil }
        var events = [epoll_event](repeating: epoll_event(), count: 256)
        var readyConnections: [(Connection, UInt32)] = []
        var nextMaintenance: Int64 = 0
        while !context.stopRequested.load(ordering: .relaxed) {
            let ready = epoll_wait(epoll, &events, Int32(events.count), 100)
            if ready < 0 {
                if errno == EINTR { continue }
                context.logger.error("epoll_wait failed: \(String(cString: strerror(errno)))")
                break
            }
            var bytesThisRound = 0
            var listenerReady = false
            // The ready ones first: reading may close connections (the buffer limit, an eviction).
            readyConnections.removeAll(keepingCapacity: true)
            for event in events.prefix(Int(ready)) {
                if event.data.fd == listener {
                    listenerReady = true
                } else if let connection = connectionsByDescriptor[event.data.fd] {
                    readyConnections.append((connection, event.events))
                }
            }
            for (connection, flags) in readyConnections where connection.fd >= 0 {
                if flags & EPOLLOUT.rawValue != 0 { sendOutgoing(connection) }
                if flags & ~EPOLLOUT.rawValue != 0 && connection.fd >= 0 { bytesThisRound += read(connection) }
            }
            // Any connection closed this round, ready or not (the buffer limit closes the heaviest holder, which
            // may not be one of them): a closed one left in the list would hold its slot and be closed again.
            if closedSinceSweep {
                connections.removeAll { $0.fd < 0 }
                closedSinceSweep = false
            }
            if listenerReady { acceptAll() }
            if bytesThisRound < 64 << 10 { context.router.flush() }
            // Deadlines and idle sources need a look a few times a second, not every round: each look costs
            // O(connections).
            let now = ResourceUsage.monotonicNanoseconds()
            if let until = acceptingPausedUntil, now >= until {
                acceptingPausedUntil = nil
                watch(listener, events: EPOLLIN.rawValue, operation: EPOLL_CTL_ADD)
            }
            if now >= nextMaintenance {
                nextMaintenance = now + 100_000_000
                closeStalled()
                context.expireIdleSources()
            }
        }
        for connection in connections { finish(connection, because: .stopping) }
        connections.removeAll()
        context.release(context.disconnectedSenders.removeAll())
        if listener >= 0 { Glibc.close(listener) }
        listener = -1
        Glibc.close(epoll)
        self.epoll = -1
        context.router.finish()
    }

    /// Adds, changes or removes `fd` in the epoll set (level-triggered).
    private func watch(_ fd: Int32, events: UInt32, operation: Int32) {
        var event = epoll_event()
        event.events = events
        event.data.fd = fd
        _ = epoll_ctl(epoll, operation, fd, &event)
    }

    /// Reads what `connection` has (within the buffer budget) and decodes it; closes it at the end of its
    /// stream or on an error. Returns the bytes read.
    private func read(_ connection: Connection) -> Int {
        if limits.bufferLimitBytes - residentBytes < Self.minimumReadBytes {
            makeRoom()
            guard connection.fd >= 0 else { return 0 }  // it was the heaviest holder
        }
        let room = max(limits.bufferLimitBytes - residentBytes, Self.minimumReadBytes)
        let tail = connection.ingestor.writableTail(limit: room)
        let count = recv(connection.fd, tail.baseAddress, tail.count, 0)
        if count > 0 {
            let started = ResourceUsage.monotonicNanoseconds()
            reading = connection
            context.ingest(count, into: connection.ingestor)
            reading = nil
            let now = ResourceUsage.monotonicNanoseconds()
            // Ingesting may wait in `route` while the pipeline is full (or register a large schema): that
            // time is ours, not the sender's.
            busyNanoseconds += now - started
            connection.lastActivityNanoseconds = now
            noteProgress(connection, now: now)
            recount(connection)
            acknowledge(connection)
            return count
        }
        if count == 0 || (errno != EAGAIN && errno != EINTR && errno != EWOULDBLOCK) {
            if count < 0 {
                context.logger.warning("\(connection.name): receive failed: \(String(cString: strerror(errno)))")
            }
            finish(connection, because: .senderClosed)
        }
        return 0
    }

    /// After bytes were decoded: a completed frame is progress; bytes that completed none start (or keep
    /// running) the frame deadline.
    private func noteProgress(_ connection: Connection, now: Int64) {
        let frames = connection.ingestor.framesDecoded
        connection.samplesSeen = connection.ingestor.samplesDecoded
        if frames != connection.framesSeen {
            connection.framesSeen = frames
            connection.pendingSinceNanoseconds = nil
            // Nothing left over: no frame is under way.
            if connection.ingestor.bufferedBytes == 0 { return }
        }
        if connection.pendingSinceNanoseconds == nil {
            connection.pendingSinceNanoseconds = now
            connection.busyAtPendingStart = busyNanoseconds
        }
    }

    /// Sends the acknowledgements the connection's frames earned (senders that asked for them in a hello).
    private func acknowledge(_ connection: Connection) {
        guard let acknowledgement = connection.ingestor.takeAcknowledgement() else { return }
        if connection.outgoingOffset == connection.outgoing.count {
            // Drained: a backlog's buffer goes back, so a sender that once stopped reading costs nothing after.
            connection.outgoing.removeAll(keepingCapacity: connection.outgoing.capacity <= 4096)
            connection.outgoingOffset = 0
        }
        let before = connection.outgoing.count
        acknowledgement.appendFrame(to: &connection.outgoing)
        guard connection.outgoing.count - connection.outgoingOffset <= Self.maximumOutgoingBytes else {
            // The sender does not read what it asked for: these go (it will resend its frames, and have
            // them recognised as duplicates).
            connection.outgoing.removeSubrange(before...)
            context.counters.acknowledgementsDropped.wrappingIncrement(
                by: acknowledgement.ranges.count,
                ordering: .relaxed
            )
            return
        }
        context.counters.acknowledgementsSent.wrappingIncrement(ordering: .relaxed)
        sendOutgoing(connection)
    }

    /// Writes what it can of the connection's pending acknowledgements without blocking, and has epoll wake
    /// this thread when the socket can take more (only while some are pending).
    private func sendOutgoing(_ connection: Connection) {
        defer {
            if connection.fd >= 0 && connection.hasOutgoing != connection.watchesWrites {
                connection.watchesWrites = connection.hasOutgoing
                let events = EPOLLIN.rawValue | (connection.hasOutgoing ? EPOLLOUT.rawValue : 0)
                watch(connection.fd, events: events, operation: EPOLL_CTL_MOD)
            }
        }
        while connection.hasOutgoing {
            let written = connection.outgoing[connection.outgoingOffset...].withUnsafeBytes {
                send(connection.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
            }
            if written > 0 {
                connection.outgoingOffset += written
                continue
            }
            if written < 0 && errno == EINTR { continue }
            // Full (EAGAIN: polled for POLLOUT next round) or gone (the read side sees the end).
            if written < 0 && errno != EAGAIN && errno != EWOULDBLOCK {
                connection.outgoingOffset = connection.outgoing.count
            }
            return
        }
    }

    /// Updates the producer's total of resident buffer bytes after `connection`'s changed.
    private func recount(_ connection: Connection) {
        let resident = connection.fd >= 0 ? connection.ingestor.residentBytes : 0
        residentBytes += resident - connection.countedResidentBytes
        connection.countedResidentBytes = resident
    }

    /// Frees buffer space when less than a read's worth is left: first the pages of bytes already
    /// consumed, then, if that is not enough, the connection holding the most unfinished bytes (closed).
    private func makeRoom() {
        for connection in connections where connection.fd >= 0 {
            connection.ingestor.releaseUnusedPages()
            recount(connection)
        }
        while limits.bufferLimitBytes - residentBytes < Self.minimumReadBytes {
            guard
                let heaviest = connections.filter({ $0.fd >= 0 && $0.ingestor.bufferedBytes > 0 })
                    .max(by: { $0.ingestor.bufferedBytes < $1.ingestor.bufferedBytes })
            else { return }
            context.counters.tcpBufferEvictions.wrappingIncrement(ordering: .relaxed)
            context.logger.warning(
                "\(heaviest.name): holds \(heaviest.ingestor.bufferedBytes) bytes of an unfinished frame while the read buffers are full (--tcp-buffer-limit \(limits.bufferLimitBytes)): closing"
            )
            finish(heaviest, because: .limit)
        }
    }

    private func acceptAll() {
        while true {
            var peer = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let fd = withUnsafeMutablePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.accept(listener, $0, &length)
                }
            }
            guard fd >= 0 else {
                let code = errno
                // Out of descriptors (or kernel memory): the listener stays readable, level-triggered, and
                // each round would fail again at once, a busy loop. It is left out of epoll for a while; the
                // senders waiting meanwhile stay in the kernel's backlog.
                if code == EMFILE || code == ENFILE || code == ENOBUFS || code == ENOMEM { pauseAccepting(code) }
                return
            }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
            inet_ntop(AF_INET, &peer.sin_addr, &text, socklen_t(INET_ADDRSTRLEN))
            let name = "tcp \(String(cString: text)):\(UInt16(bigEndian: peer.sin_port))"
            let address = peer.sin_addr.s_addr
            let sameAddress = connections.filter { $0.address == address }
            let full: [Connection]?
            let limit: String
            if sameAddress.count >= limits.maximumConnectionsPerAddress {
                (full, limit) = (
                    sameAddress,
                    "\(limits.maximumConnectionsPerAddress) from its address (--max-connections-per-address)"
                )
            } else if connections.count >= limits.maximumConnections {
                (full, limit) = (connections, "\(limits.maximumConnections) connections (--max-connections)")
            } else {
                (full, limit) = (nil, "")
            }
            let now = ResourceUsage.monotonicNanoseconds()
            if let full {
                // The slot of the connection longest without a frame, if it is idle or trickling.
                let busy = busyNanoseconds
                let candidates = full.compactMap { connection in
                    connection.unproductiveNanoseconds(now: now, busy: busy).map { (connection, $0) }
                }
                guard let (victim, unproductive) = candidates.max(by: { $0.1 < $1.1 }),
                    unproductive >= limits.evictableAfterNanoseconds
                else {
                    context.counters.tcpRefused.wrappingIncrement(ordering: .relaxed)
                    context.logger.warning("\(name): refused, already \(limit), all of them busy")
                    Glibc.close(fd)
                    continue
                }
                context.counters.tcpEvictions.wrappingIncrement(ordering: .relaxed)
                context.logger.warning(
                    "\(victim.name): its bytes completed no frame for \(EventTime.describeDuration(nanoseconds: unproductive)) and a new sender needs its slot (already \(limit)): closing"
                )
                finish(victim, because: .limit)
                connections.removeAll { $0 === victim }
            }
            let ingestor: StreamIngestor
            do {
                ingestor = try context.makeIngestor(streamName: name, holdsClockAtOnce: false, acknowledgesFrames: true)
            } catch {
                // Out of address space (`ulimit -v`, strict overcommit): this sender is refused, the rest go on.
                context.counters.tcpRefused.wrappingIncrement(ordering: .relaxed)
                context.logger.warning("\(name): refused: \(error)")
                Glibc.close(fd)
                continue
            }
            context.counters.tcpConnections.wrappingIncrement(ordering: .relaxed)
            // A new sender is activity: the idle timer must not stop the engine before its first bytes.
            context.noteInput()
            context.logger.info("\(name): connected")
            let connection = Connection(
                fd: fd,
                name: name,
                address: address,
                ingestor: ingestor,
                now: now,
                busy: busyNanoseconds
            )
            connections.append(connection)
            connectionsByDescriptor[fd] = connection
            watch(fd, events: EPOLLIN.rawValue, operation: EPOLL_CTL_ADD)
        }
    }

    /// Closes the connections that sent nothing for the idle timeout, and those whose bytes have not
    /// completed a frame within the frame timeout (a partial frame they hold is reported and counted like
    /// any disconnect mid-frame). Time the engine spent busy does not count against them.
    private func closeStalled() {
        guard !connections.isEmpty else { return }
        let now = ResourceUsage.monotonicNanoseconds()
        connections.removeAll { connection in
            if let since = connection.pendingSinceNanoseconds, limits.frameTimeoutNanoseconds > 0,
                now - since - (busyNanoseconds - connection.busyAtPendingStart) >= limits.frameTimeoutNanoseconds
            {
                context.counters.tcpFrameTimeouts.wrappingIncrement(ordering: .relaxed)
                context.logger.warning(
                    "\(connection.name): its bytes completed no frame in \(EventTime.describeDuration(nanoseconds: limits.frameTimeoutNanoseconds)) (--tcp-frame-timeout): closing"
                )
                finish(connection, because: .limit)
                return true
            }
            guard limits.idleTimeoutNanoseconds > 0,
                now - connection.lastActivityNanoseconds >= limits.idleTimeoutNanoseconds
            else { return false }
            // Bytes waiting unread mean we were busy (backpressure), not that the sender was quiet.
            if hasUnreadBytes(connection) {
                connection.lastActivityNanoseconds = now
                return false
            }
            context.counters.tcpIdleTimeouts.wrappingIncrement(ordering: .relaxed)
            context.logger.warning(
                "\(connection.name): sent nothing for \(EventTime.describeDuration(nanoseconds: limits.idleTimeoutNanoseconds)) (--tcp-idle-timeout): closing"
            )
            finish(connection, because: .limit)
            return true
        }
    }

    private func hasUnreadBytes(_ connection: Connection) -> Bool {
        var probe = pollfd(fd: connection.fd, events: Int16(POLLIN), revents: 0)
        return poll(&probe, 1, 0) > 0 && probe.revents & Int16(POLLIN) != 0
    }

    enum CloseReason {
        /// The sender closed it (or it failed): a partial frame is a truncated frame, and counted as a
        /// disconnect mid-frame.
        case senderClosed
        /// A limit closed it (idle, frame timeout, eviction): a partial frame goes with it, counted under
        /// that limit.
        case limit
        /// The run is stopping.
        case stopping
    }

    /// Ends the connection's stream and closes its socket; it stays in `connections` with `fd` -1 until the
    /// caller removes it.
    private func finish(_ connection: Connection, because reason: CloseReason) {
        guard connection.fd >= 0 else { return }
        switch reason {
        case .senderClosed:
            if connection.ingestor.finish(keepingSender: true) {
                context.counters.tcpDisconnectsMidFrame.wrappingIncrement(ordering: .relaxed)
            }
        case .limit:
            connection.ingestor.finish(discardingPartialFrame: true, keepingSender: true)
        case .stopping:
            context.finish(connection.ingestor, stopped: true)
        }
        watch(connection.fd, events: 0, operation: EPOLL_CTL_DEL)
        connectionsByDescriptor[connection.fd] = nil
        Glibc.close(connection.fd)
        connection.fd = -1
        closedSinceSweep = true
        recount(connection)
        context.logger.info("\(connection.name): closed")
    }
}
