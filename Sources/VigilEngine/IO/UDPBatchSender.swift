import CVigilNative
import VigilWire

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Sends batches of UDP datagrams with one `sendmmsg(2)` per batch, from one socket per source address (a
/// simulated exporter), to one destination, IPv4 or IPv6.
///
/// Never drops silently: a send the kernel refuses for lack of room (`ENOBUFS`, `EAGAIN`) or that a signal
/// interrupted is retried, backing off from 20 µs to 1 ms, for up to ``retryLimitNanoseconds``; a datagram
/// that still cannot be sent, or that fails otherwise (`EPERM` from a firewall, `ENETUNREACH`), is counted
/// in ``failedDatagrams`` with the error, and the batch goes on after it.
public final class UDPBatchSender {
    public enum SetupError: Error, CustomStringConvertible {
        case socket(errno: Int32)
        case bind(address: IPAddress, errno: Int32)

        public var description: String {
            switch self {
            case .socket(let code): "cannot open a UDP socket: \(String(cString: strerror(code)))"
            case .bind(let address, let code):
                "cannot send from \(address): \(String(cString: strerror(code))) (a source address must be one of "
                    + "this host's; on Linux all of 127.0.0.0/8 is)"
            }
        }
    }

    /// How long a datagram the kernel has no room for is retried before it counts as failed.
    public static let retryLimitNanoseconds: Int64 = 2_000_000_000
    /// Datagrams in one batch, at most.
    public static let maximumBatch = 1_024

    let sockets: [Int32]
    var destination = sockaddr_storage()
    let destinationLength: UInt32
    public private(set) var sentDatagrams = 0
    public private(set) var failedDatagrams = 0
    /// Sends the kernel refused for lack of room (or a signal) and that were retried.
    public private(set) var retries = 0
    /// The last error that made a datagram fail, for the summary.
    public private(set) var lastError: String?

    /// - Parameters:
    ///   - destination: the collector's address and port.
    ///   - sources: one address per exporter to bind its socket to (its datagrams come from it), or nil for
    ///     a single unbound socket shared by all (the system picks the source address).
    ///   - sendBufferBytes: `SO_SNDBUF` asked for each socket.
    public init(
        destination address: IPAddress,
        port: UInt16,
        sources: [IPAddress]?,
        sendBufferBytes: Int32 = 4 << 20
    )
        throws
    {
        destinationLength = Self.fill(&destination, address: address, port: port)
        var sockets: [Int32] = []
        for source in sources ?? [.unspecified] {
            let family = address.isIPv4 ? AF_INET : AF_INET6
            #if canImport(Glibc)
            let descriptor = socket(family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            #else
            let descriptor = socket(family, SOCK_DGRAM, 0)
            #endif
            guard descriptor >= 0 else {
                let code = errno
                sockets.forEach { _ = close($0) }
                throw SetupError.socket(errno: code)
            }
            sockets.append(descriptor)
            var size = sendBufferBytes
            _ = setsockopt(descriptor, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
            if sources != nil {
                var local = sockaddr_storage()
                let length = Self.fill(&local, address: source, port: 0)
                let status = withUnsafePointer(to: &local) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(length)) }
                }
                guard status == 0 else {
                    let code = errno
                    sockets.forEach { _ = close($0) }
                    throw SetupError.bind(address: source, errno: code)
                }
            }
        }
        self.sockets = sockets
    }

    deinit {
        for descriptor in sockets { _ = close(descriptor) }
    }

    /// Whether each exporter has a socket of its own (bound to its address).
    public var bindsSources: Bool { sockets.count > 1 }

    static func fill(_ storage: inout sockaddr_storage, address: IPAddress, port: UInt16) -> UInt32 {
        withUnsafeMutableBytes(of: &storage) { raw in
            raw.initializeMemory(as: UInt8.self, repeating: 0)
            if let v4 = address.ipv4 {
                var socketAddress = sockaddr_in()
                socketAddress.sin_family = sa_family_t(AF_INET)
                socketAddress.sin_port = port.bigEndian
                socketAddress.sin_addr.s_addr = v4.bigEndian
                raw.storeBytes(of: socketAddress, as: sockaddr_in.self)
                return UInt32(MemoryLayout<sockaddr_in>.size)
            }
            var socketAddress = sockaddr_in6()
            socketAddress.sin6_family = sa_family_t(AF_INET6)
            socketAddress.sin6_port = port.bigEndian
            withUnsafeMutableBytes(of: &socketAddress.sin6_addr) { bytes in
                bytes.storeBytes(of: address.high.bigEndian, as: UInt64.self)
                bytes.storeBytes(of: address.low.bigEndian, toByteOffset: 8, as: UInt64.self)
            }
            raw.storeBytes(of: socketAddress, as: sockaddr_in6.self)
            return UInt32(MemoryLayout<sockaddr_in6>.size)
        }
    }

    /// Sends `payloads[i]` of `lengths[i]` bytes, i in order, from exporter `source`'s socket.
    /// - Returns: how many were sent (the others are counted in ``failedDatagrams``).
    @discardableResult
    public func send(
        from source: Int,
        payloads: UnsafeBufferPointer<UnsafeMutableRawPointer?>,
        lengths: UnsafeBufferPointer<UInt32>
    ) -> Int {
        precondition(payloads.count == lengths.count && payloads.count <= Self.maximumBatch)
        let descriptor = sockets[sockets.count == 1 ? 0 : source]
        var done = 0
        var sent = 0
        var backoffMicroseconds: UInt32 = 20
        var waitedNanoseconds: Int64 = 0
        while done < payloads.count {
            let result = withUnsafePointer(to: &destination) { destination in
                vigil_send_datagrams(
                    descriptor,
                    payloads.baseAddress! + done,
                    lengths.baseAddress! + done,
                    UInt32(payloads.count - done),
                    destination,
                    destinationLength
                )
            }
            if result > 0 {
                done += Int(result)
                sent += Int(result)
                backoffMicroseconds = 20
                waitedNanoseconds = 0
                continue
            }
            let code = result < 0 ? errno : EAGAIN
            if code == EINTR || code == EAGAIN || code == EWOULDBLOCK || code == ENOBUFS || code == ENOMEM {
                if waitedNanoseconds < Self.retryLimitNanoseconds {
                    retries += 1
                    usleep(backoffMicroseconds)
                    waitedNanoseconds += Int64(backoffMicroseconds) * 1_000
                    backoffMicroseconds = min(1_000, backoffMicroseconds * 2)
                    continue
                }
            }
            // Failed for good: count the first datagram and go on with the next.
            failedDatagrams += 1
            lastError = String(cString: strerror(code))
            done += 1
            backoffMicroseconds = 20
            waitedNanoseconds = 0
        }
        sentDatagrams += sent
        return sent
    }
}
