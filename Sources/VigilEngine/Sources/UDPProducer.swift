import Atomics
import CVigilNative
import Logging
import VigilCore
import VigilWire

#if canImport(Glibc)
import Glibc
#endif

/// Receives flow datagrams (NetFlow v5/v9, IPFIX, sFlow v5) on a UDP address, on one thread, in batches
/// of up to 64 (`recvmmsg`), and hands each to its ``FlowIngest``. After a partly filled batch it pauses
/// up to 1 ms before the next receive (``coalescingNanoseconds(grantedBufferBytes:)``), so that a steady
/// stream arrives in full batches rather than in a wake-up and two system calls per few datagrams.
///
/// UDP has no flow control: when Vigil falls behind (or a burst outruns the socket buffer) the kernel
/// drops datagrams. It never blocks a sender; the drops are counted from the kernel's own counter
/// (`SO_RXQ_OVFL`: `udp_kernel_drops`), apart from what Vigil itself drops (`flow_records_dropped`, decode
/// errors by reason). A bigger `--udp-buffer` absorbs longer bursts.
final class UDPProducer {
    let context: ProducerContext
    let host: String
    let port: UInt16
    let bufferBytes: Int
    let ingest: FlowIngest
    private var socket: Int32 = -1
    /// The port bound (the one asked for, or the kernel's choice for port 0).
    private(set) var boundPort: UInt16 = 0
    /// The pause after a partly filled batch, from the buffer granted; 0 for none (see
    /// ``coalescingNanoseconds(grantedBufferBytes:)``).
    private(set) var coalescingNanoseconds: Int64 = 0
    /// Datagrams per `recvmmsg`, and the largest datagram taken whole (a UDP payload's maximum).
    static let batchCount = 64
    static let slotBytes = 65_536
    /// The longest pause after a partly filled batch (see ``coalescingNanoseconds(grantedBufferBytes:)``).
    static let maximumCoalescingNanoseconds: Int64 = 1_000_000
    /// Below this a pause is not worth its timer: the receiver goes back to waiting on `poll` instead.
    static let minimumCoalescingNanoseconds: Int64 = 50_000
    /// The fastest that datagrams fill a socket buffer on this kind of host, in bytes of kernel memory
    /// (`truesize`, not payload) per nanosecond: loopback with several senders stays below 4 GB/s.
    static let fastestFillBytesPerNanosecond: Int64 = 4

    /// How long to pause after a `recvmmsg` that returned fewer datagrams than a batch, so that the next
    /// one returns a fuller batch: at 133k datagrams/s (3.2M records/s of 24) the receiver otherwise takes
    /// two or three datagrams per call and pays a `poll`, a wake-up and two `recvmmsg`s for them, and the
    /// kernel's share per datagram falls by more than half with full batches. Bounded by latency (1 ms)
    /// and by the buffer: what can arrive during the pause at the fastest fill fills at most an eighth of
    /// `grantedBufferBytes`, so the pause cannot itself overflow the socket; 0 (no pause) when that bound
    /// is under 50 µs (a buffer below about 1.6 MiB).
    /// - Parameter grantedBufferBytes: the receive buffer the kernel granted.
    /// - Returns: the pause in nanoseconds, 0 for none.
    static func coalescingNanoseconds(grantedBufferBytes: Int) -> Int64 {
        let bound = Int64(grantedBufferBytes) / 8 / fastestFillBytesPerNanosecond
        guard bound >= minimumCoalescingNanoseconds else { return 0 }
        return min(bound, maximumCoalescingNanoseconds)
    }

    init(context: ProducerContext, host: String, port: UInt16, bufferBytes: Int, ingest: FlowIngest) {
        self.context = context
        self.host = host
        self.port = port
        self.bufferBytes = bufferBytes
        self.ingest = ingest
    }

    var name: String { InputSpecification.udp(host: host, port: port).description }

    func bind() throws {
        var granted: Int32 = 0
        var code: Int32 = 0
        var resolution: Int32 = 0
        let fd = vigil_udp_bind(host, port, Int32(clamping: bufferBytes), &granted, &code, &resolution)
        guard fd >= 0 else {
            if resolution != 0 {
                throw SourceError(
                    source: name,
                    operation: "resolve address",
                    reason: String(cString: gai_strerror(resolution))
                )
            }
            throw SourceError(source: name, operation: "bind", errno: code)
        }
        socket = fd
        boundPort = UInt16(clamping: max(0, vigil_udp_bound_port(fd)))
        coalescingNanoseconds = Self.coalescingNanoseconds(grantedBufferBytes: Int(granted))
        if Int(granted) < bufferBytes {
            context.logger.warning(
                "\(name): the kernel granted a receive buffer of \(granted) bytes, not the \(bufferBytes) of --udp-buffer: bursts beyond it are dropped by the kernel (udp_kernel_drops). Raise the limit with: sysctl -w net.core.rmem_max=\(bufferBytes)"
            )
        }
        let bound = InputSpecification.udp(host: host, port: boundPort)
        context.logger.notice("listening on \(bound) for NetFlow v5/v9, IPFIX and sFlow v5")
    }

    func run() {
        defer {
            ingest.finish()
            if socket >= 0 { Glibc.close(socket) }
            context.router.finish()
        }
        let slotBytes = Self.slotBytes
        let buffers = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.batchCount * slotBytes, alignment: 64)
        defer { buffers.deallocate() }
        var infos = [vigil_datagram_info](repeating: vigil_datagram_info(), count: Self.batchCount)
        var kernelDropsSeen: UInt32 = 0
        var nextMaintenance: Int64 = 0
        var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
        var pause = timespec(tv_sec: 0, tv_nsec: Int(coalescingNanoseconds))
        while !context.stopRequested.load(ordering: .relaxed) {
            var kernelDrops: UInt32 = 0
            var hasKernelDrops: Int32 = 0
            let received = infos.withUnsafeMutableBufferPointer {
                vigil_udp_receive_batch(
                    socket,
                    buffers.baseAddress!.assumingMemoryBound(to: UInt8.self),
                    slotBytes,
                    $0.baseAddress,
                    Int32(Self.batchCount),
                    &kernelDrops,
                    &hasKernelDrops
                )
            }
            let now = ResourceUsage.monotonicNanoseconds()
            if received > 0 {
                context.noteInput()
                context.busyProducers.wrappingIncrement(ordering: .sequentiallyConsistent)
                let arrival = ProducerClock.realtimeNanoseconds()
                ingest.setNow(now)
                var bytes = 0
                for index in 0..<Int(received) {
                    let info = infos[index]
                    bytes += Int(info.length)
                    let address = withUnsafeBytes(of: info.address) {
                        IPAddress(bytes: $0.baseAddress!, byteCount: 16)!
                    }
                    let payload = UnsafeRawBufferPointer(
                        start: buffers.baseAddress! + index * slotBytes,
                        count: min(Int(info.length), slotBytes)
                    )
                    ingest.decode(payload, from: address, sourcePort: info.port, arrivalNanoseconds: arrival)
                }
                context.counters.udpDatagrams.wrappingIncrement(by: Int(received), ordering: .relaxed)
                context.counters.bytesRead.wrappingIncrement(by: bytes, ordering: .relaxed)
                if hasKernelDrops != 0 && kernelDrops != kernelDropsSeen {
                    context.counters.udpKernelDrops.wrappingIncrement(
                        by: Int(kernelDrops &- kernelDropsSeen),
                        ordering: .relaxed
                    )
                    kernelDropsSeen = kernelDrops
                }
                context.busyProducers.wrappingDecrement(ordering: .sequentiallyConsistent)
            } else if received < 0 {
                context.logger.error("\(name): receive failed: \(String(cString: strerror(-received)))")
                context.counters.sourceErrors.wrappingIncrement(ordering: .relaxed)
            }
            // Every 100 ms, caught up or not (a sender that never lets up must still see its counts, its
            // quiet exporters' readings and its templates' checkpoint): hand on what waits in partly filled
            // batches and quiet exporters' last readings.
            if now >= nextMaintenance {
                ingest.setNow(now)
                ingest.flushQuietExporters()
                ingest.publishCounts()
                context.router.flush()
                context.expireIdleSources()
                nextMaintenance = now + 100_000_000
            }
            if received <= 0 {
                // Caught up: wait for datagrams (at most 100 ms, to see a stop request).
                descriptor.revents = 0
                _ = poll(&descriptor, 1, 100)
            } else if Int(received) < Self.batchCount && pause.tv_nsec > 0 {
                // A partly filled batch: let the next one fill (bounded latency and buffer; see
                // `coalescingNanoseconds`). A full batch goes straight on: more is likely waiting.
                var remaining = timespec()
                _ = nanosleep(&pause, &remaining)
            }
        }
    }
}
