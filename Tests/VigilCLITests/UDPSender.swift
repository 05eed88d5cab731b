import Foundation
import Testing

/// Sends datagrams to a `vigil run --input udp://127.0.0.1:PORT` as an exporter would.
enum UDPSender {
    /// Sends `datagrams` to 127.0.0.1:`port`, from `address`:`sourcePort` when given (bound first; any
    /// 127.0.0.0/8 address is local), pausing 2 ms after every `burst` so loopback drops none.
    static func send(
        _ datagrams: [[UInt8]],
        to port: UInt16,
        from address: String? = nil,
        sourcePort: UInt16 = 0,
        burst: Int = 64
    ) {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        if let address {
            var reuse: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
            var local = socketAddress(address, port: sourcePort)
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            #expect(bound == 0, "bind \(address):\(sourcePort): errno \(errno)")
        }
        var remote = socketAddress("127.0.0.1", port: port)
        for (index, datagram) in datagrams.enumerated() {
            let sent = datagram.withUnsafeBytes { bytes in
                withUnsafePointer(to: &remote) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(fd, bytes.baseAddress, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
            }
            #expect(sent == datagram.count)
            if (index + 1) % burst == 0 { usleep(2_000) }
        }
    }

    private static func socketAddress(_ address: String, port: UInt16) -> sockaddr_in {
        var result = sockaddr_in()
        result.sin_family = sa_family_t(AF_INET)
        result.sin_port = port.bigEndian
        result.sin_addr.s_addr = inet_addr(address)
        return result
    }
}
