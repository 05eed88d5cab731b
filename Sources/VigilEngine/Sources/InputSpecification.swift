/// Where telemetry comes from, as given to `vigil run --input`.
///
/// - `-`: standard input (for `tcpdump … | vigil run` style pipes), zstd-compressed or not.
/// - `file:PATH`: a file; `PATH` may hold `*`, `?` and `[…]` globs (expanded and sorted). Each file is one
///   stream (its own schema), read in the order given; give rotated files in time order.
/// - `tcp://HOST:PORT`: listen for any number of concurrent senders; each connection is one stream.
public enum InputSpecification: Equatable, Sendable, CustomStringConvertible {
    case standardInput
    case files(pattern: String)
    case tcp(host: String, port: UInt16)
    /// An already open descriptor (`fd:3`), e.g. a pipe set up by a parent process or by `vigil bench`.
    case fileDescriptor(Int32)
    /// A stream made by the embedding program (benchmarks, tests); not reachable from the command line.
    case stream(StreamFactory)

    public enum ParseError: Error, CustomStringConvertible, Equatable {
        case unknownScheme(String)
        case badTCPAddress(String)

        public var description: String {
            switch self {
            case .unknownScheme(let text):
                return "input '\(text)' is not understood: use '-', 'file:PATH', 'fd:N' or 'tcp://127.0.0.1:PORT'"
            case .badTCPAddress(let text):
                return "input '\(text)' needs a host and a port from 1 to 65535, e.g. tcp://127.0.0.1:9999"
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
            let rest = text.dropFirst("tcp://".count)
            guard let colon = rest.lastIndex(of: ":"), let port = UInt16(rest[rest.index(after: colon)...]), port > 0
            else { throw ParseError.badTCPAddress(text) }
            var host = String(rest[..<colon])
            if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            guard !host.isEmpty else { throw ParseError.badTCPAddress(text) }
            self = .tcp(host: host, port: port)
        } else {
            throw ParseError.unknownScheme(text)
        }
    }

    public var description: String {
        switch self {
        case .standardInput: return "-"
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
