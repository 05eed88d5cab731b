/// Where telemetry comes from, as given to `vigil run --input`.
///
/// - `-`: standard input (for `tcpdump … | vigil run` style pipes), zstd-compressed or not.
/// - `file:PATH`: a file; `PATH` may hold `*`, `?` and `[…]` globs (expanded and sorted). Each file is one
///   stream (its own schema), read in the order given; give rotated files in time order.
/// - `tcp://HOST:PORT`: listen for any number of concurrent senders; each connection is one stream.
/// - `udp://HOST:PORT`: receive NetFlow v5/v9, IPFIX and sFlow v5 datagrams (IPv4 or IPv6; `[::]` takes
///   both); each exporter is a source of its own.
/// - `pcap:PATH` (globs) or `pcap:-`: packet captures (pcap or pcapng) holding such datagrams, e.g.
///   `tcpdump -i eth0 -w - 'udp port 2055' | vigil run --input pcap:-`.
public enum InputSpecification: Equatable, Sendable, CustomStringConvertible {
    case standardInput
    case files(pattern: String)
    case tcp(host: String, port: UInt16)
    case udp(host: String, port: UInt16)
    case captures(pattern: String)
    case captureStandardInput
    /// An already open descriptor (`fd:3`), e.g. a pipe set up by a parent process or by `vigil bench`.
    case fileDescriptor(Int32)
    /// A stream made by the embedding program (benchmarks, tests); not reachable from the command line.
    case stream(StreamFactory)

    public enum ParseError: Error, CustomStringConvertible, Equatable {
        case unknownScheme(String)
        case badTCPAddress(String)
        case badUDPAddress(String)

        public var description: String {
            switch self {
            case .unknownScheme(let text):
                return
                    "input '\(text)' is not understood: use '-', 'file:PATH', 'fd:N', 'tcp://127.0.0.1:PORT', 'udp://0.0.0.0:2055' or 'pcap:PATH'"
            case .badTCPAddress(let text):
                return "input '\(text)' needs a host and a port from 1 to 65535, e.g. tcp://127.0.0.1:9999"
            case .badUDPAddress(let text):
                return
                    "input '\(text)' needs a host and a port from 0 to 65535, e.g. udp://0.0.0.0:2055 or udp://[::]:2055"
            }
        }
    }

    public init(parsing text: String) throws {
        if text == "-" {
            self = .standardInput
        } else if text.hasPrefix("file:") {
            let path = String(text.dropFirst("file:".count))
            guard !path.isEmpty else { throw ParseError.unknownScheme(text) }
            self = .files(pattern: path)
        } else if text.hasPrefix("fd:"), let fd = Int32(text.dropFirst(3)), fd >= 0 {
            self = .fileDescriptor(fd)
        } else if text.hasPrefix("tcp://") {
            guard let (host, port) = Self.hostAndPort(text.dropFirst("tcp://".count)), port > 0 else {
                throw ParseError.badTCPAddress(text)
            }
            self = .tcp(host: host, port: port)
        } else if text.hasPrefix("udp://") {
            // Port 0 lets the kernel choose (tests); the log names the port bound.
            guard let (host, port) = Self.hostAndPort(text.dropFirst("udp://".count)) else {
                throw ParseError.badUDPAddress(text)
            }
            self = .udp(host: host, port: port)
        } else if text == "pcap:-" {
            self = .captureStandardInput
        } else if text.hasPrefix("pcap:") {
            let path = String(text.dropFirst("pcap:".count))
            guard !path.isEmpty else { throw ParseError.unknownScheme(text) }
            self = .captures(pattern: path)
        } else {
            throw ParseError.unknownScheme(text)
        }
    }

    /// `HOST:PORT`, or `[IPV6]:PORT`.
    private static func hostAndPort(_ text: Substring) -> (String, UInt16)? {
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]) else {
            return nil
        }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { return nil }
        return (host, port)
    }

    public var description: String {
        switch self {
        case .standardInput: return "-"
        case .udp(let host, let port): return host.contains(":") ? "udp://[\(host)]:\(port)" : "udp://\(host):\(port)"
        case .captures(let pattern): return "pcap:\(pattern)"
        case .captureStandardInput: return "pcap:-"
        case .files(let pattern): return "file:\(pattern)"
        case .tcp(let host, let port): return "tcp://\(host):\(port)"
        case .fileDescriptor(let fd): return "fd:\(fd)"
        case .stream(let factory): return factory.name
        }
    }
}

/// Makes a ``ByteStream`` when the engine starts; equal only to itself.
public final class StreamFactory: Equatable, @unchecked Sendable {
    public let name: String
    let make: () throws -> ByteStream

    public init(name: String, make: @escaping () throws -> ByteStream) {
        self.name = name
        self.make = make
    }

    public static func == (lhs: StreamFactory, rhs: StreamFactory) -> Bool { lhs === rhs }
}
