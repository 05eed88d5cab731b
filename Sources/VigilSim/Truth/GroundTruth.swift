import Foundation
import VigilCore

/// The ground truth of a simulated run, as written next to the recording (`fleet.truth.json`):
/// the fleet, every injected incident and every reboot. Keys are snake_case; times RFC 3339 UTC.
public struct GroundTruth: Codable, Equatable, Sendable {
    public struct Fleet: Codable, Equatable, Sendable {
        public var devices: Int
        /// Interfaces per device.
        public var interfaces: Int
        public var start: String
        public var end: String
        public var intervalSeconds: Int
        public var seed: UInt64
        /// The command line that produced the recording.
        public var command: String

        public init(
            devices: Int,
            interfaces: Int,
            start: String,
            end: String,
            intervalSeconds: Int,
            seed: UInt64,
            command: String
        ) {
            self.devices = devices
            self.interfaces = interfaces
            self.start = start
            self.end = end
            self.intervalSeconds = intervalSeconds
            self.seed = seed
            self.command = command
        }

        enum CodingKeys: String, CodingKey {
            case devices, interfaces, start, end, seed, command
            case intervalSeconds = "interval_seconds"
        }
    }

    public struct Incident: Codable, Equatable, Sendable {
        public var id: String
        public var device: String
        /// "" for device-level incidents.
        public var interface: String
        public var metric: String
        /// One of ``IncidentKind``'s raw values; kept as text so that truth files with new kinds still load.
        public var kind: String
        public var start: String
        public var end: String

        public init(
            id: String,
            device: String,
            interface: String,
            metric: String,
            kind: String,
            start: String,
            end: String
        ) {
            self.id = id
            self.device = device
            self.interface = interface
            self.metric = metric
            self.kind = kind
            self.start = start
            self.end = end
        }
    }

    public struct Reboot: Codable, Equatable, Sendable {
        public var device: String
        /// When the device stopped sending (samples resume at `resumes`, counters near zero).
        public var at: String
        public var resumes: String?
        /// `maintenance` or `thermal_shutdown`.
        public var cause: String?

        public init(device: String, at: String, resumes: String? = nil, cause: String? = nil) {
            self.device = device
            self.at = at
            self.resumes = resumes
            self.cause = cause
        }
    }

    public var fleet: Fleet
    public var incidents: [Incident]
    public var reboots: [Reboot]

    public init(fleet: Fleet, incidents: [Incident], reboots: [Reboot]) {
        self.fleet = fleet
        self.incidents = incidents
        self.reboots = reboots
    }

    /// The truth of what `simulator` generates. `command` is recorded as given.
    public init(simulator: FleetSimulator, command: String) {
        let configuration = simulator.configuration
        let catalogue = simulator.catalogue
        fleet = Fleet(
            devices: configuration.deviceCount,
            interfaces: configuration.interfacesPerDevice,
            start: EventTime.rfc3339(nanoseconds: configuration.startNanoseconds),
            end: EventTime.rfc3339(nanoseconds: configuration.endNanoseconds),
            intervalSeconds: Int(configuration.intervalNanoseconds / EventTime.nanosecondsPerSecond),
            seed: configuration.seed,
            command: command
        )
        incidents = simulator.plan.incidents.map { incident in
            Incident(
                id: incident.id,
                device: catalogue.deviceName(incident.deviceIndex),
                interface: incident.interfaceIndex.map { catalogue.interfaceName($0) } ?? "",
                metric: incident.kind.metric.name,
                kind: incident.kind.rawValue,
                start: EventTime.rfc3339(nanoseconds: incident.startNanoseconds),
                end: EventTime.rfc3339(nanoseconds: incident.endNanoseconds)
            )
        }
        reboots = simulator.plan.effectiveReboots.map { reboot in
            Reboot(
                device: catalogue.deviceName(reboot.deviceIndex),
                at: EventTime.rfc3339(nanoseconds: reboot.atNanoseconds),
                resumes: EventTime.rfc3339(nanoseconds: reboot.resumesNanoseconds),
                cause: reboot.cause.rawValue
            )
        }
    }

    /// Pretty-printed JSON with sorted keys (stable, diffable), ending in a newline.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(self)
        data.append(0x0A)
        return data
    }

    /// Decodes a truth file. `source` names it in errors.
    public static func decode(_ data: Data, source: String) throws -> GroundTruth {
        do {
            return try JSONDecoder().decode(GroundTruth.self, from: data)
        } catch let error as DecodingError {
            throw EvaluationInputError.malformedTruth(file: source, reason: describe(error))
        }
    }
}

/// A one-line account of a `DecodingError`: what was expected where.
func describe(_ error: DecodingError) -> String {
    func path(_ context: DecodingError.Context) -> String {
        let keys = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
        return keys.isEmpty ? "top level" : keys.joined(separator: ".")
    }
    switch error {
    case .keyNotFound(let key, let context):
        return "missing field \"\(key.stringValue)\" at \(path(context))"
    case .typeMismatch(let type, let context):
        return "expected \(type) at \(path(context))"
    case .valueNotFound(let type, let context):
        return "expected \(type), found null at \(path(context))"
    case .dataCorrupted(let context):
        return context.codingPath.isEmpty ? "not valid JSON" : "invalid value at \(path(context))"
    @unknown default:
        return "undecodable"
    }
}
