import VigilCore

/// The five kinds of injected incident (`SampleData/README.md`), named as in the ground truth.
public enum IncidentKind: String, Codable, CaseIterable, Sendable {
    case trafficSurge = "traffic_surge"
    case linkFlap = "link_flap"
    case crcBurst = "crc_burst"
    case opticDegradation = "optic_degradation"
    case temperatureRunaway = "temperature_runaway"

    /// Slow failures that must be alerted before `end` (a forecast), as opposed to sudden incidents.
    public var isPredictive: Bool { self == .opticDegradation || self == .temperatureRunaway }

    /// The metric the ground truth names: where the incident shows most plainly.
    public var metric: FleetMetric {
        switch self {
        case .trafficSurge: return .inOctets
        case .linkFlap: return .rxPowerDBm
        case .crcBurst: return .inCRCErrors
        case .opticDegradation: return .rxPowerDBm
        case .temperatureRunaway: return .temperatureCelsius
        }
    }
}

/// One incident to inject. Times are nanoseconds since the epoch, on the sampling grid.
public struct PlannedIncident: Sendable, Equatable {
    public var id: String
    public var kind: IncidentKind
    public var deviceIndex: Int
    /// nil for device-level incidents (temperature runaway); required otherwise.
    public var interfaceIndex: Int?
    public var startNanoseconds: Int64
    /// Sudden kinds: when the incident is over. Predictive kinds: the failure (rx power crosses -20 dBm,
    /// temperature reaches 85 degC).
    public var endNanoseconds: Int64
    /// traffic_surge: rate multiplier (3-5); crc_burst: errors per second (20-500); link_flap: number of
    /// down periods (3-6); unused (0) for the predictive kinds.
    public var magnitude: Double

    public init(
        id: String,
        kind: IncidentKind,
        deviceIndex: Int,
        interfaceIndex: Int?,
        startNanoseconds: Int64,
        endNanoseconds: Int64,
        magnitude: Double = 0
    ) {
        self.id = id
        self.kind = kind
        self.deviceIndex = deviceIndex
        self.interfaceIndex = interfaceIndex
        self.startNanoseconds = startNanoseconds
        self.endNanoseconds = endNanoseconds
        self.magnitude = magnitude
    }
}

public enum RebootCause: String, Codable, Sendable {
    /// A planned reload: no incident, and the engine must not alert on it.
    case maintenance
    /// The device reached 85 degC and shut itself down (follows a temperature runaway).
    case thermalShutdown = "thermal_shutdown"
}

/// A device reboot: no samples from the device in `[at, at + down)`, then every counter restarts near zero.
public struct PlannedReboot: Sendable, Equatable {
    public var deviceIndex: Int
    public var atNanoseconds: Int64
    public var downNanoseconds: Int64
    public var cause: RebootCause

    public init(deviceIndex: Int, atNanoseconds: Int64, downNanoseconds: Int64, cause: RebootCause) {
        self.deviceIndex = deviceIndex
        self.atNanoseconds = atNanoseconds
        self.downNanoseconds = downNanoseconds
        self.cause = cause
    }

    public var resumesNanoseconds: Int64 { atNanoseconds + downNanoseconds }
}

/// What happens to the fleet: the incidents and the maintenance reboots. Thermal shutdowns are not listed
/// here: each temperature runaway implies one (see ``effectiveReboots``).
public struct IncidentPlan: Sendable, Equatable {
    public static let maintenanceDownNanoseconds: Int64 = 300 * EventTime.nanosecondsPerSecond
    public static let thermalDownNanoseconds: Int64 = 600 * EventTime.nanosecondsPerSecond
    /// Bound on the plan's size, so per-tick work over the plan stays small.
    public static let maxIncidents = 1_024

    public var incidents: [PlannedIncident]
    public var reboots: [PlannedReboot]

    public init(incidents: [PlannedIncident], reboots: [PlannedReboot] = []) {
        self.incidents = incidents
        self.reboots = reboots
    }

    /// The maintenance reboots plus one thermal shutdown per temperature runaway (at its `end`, down 10 min),
    /// sorted by time.
    public var effectiveReboots: [PlannedReboot] {
        var result = reboots
        for incident in incidents where incident.kind == .temperatureRunaway {
            result.append(
                PlannedReboot(
                    deviceIndex: incident.deviceIndex,
                    atNanoseconds: incident.endNanoseconds,
                    downNanoseconds: Self.thermalDownNanoseconds,
                    cause: .thermalShutdown
                )
            )
        }
        return result.sorted { ($0.atNanoseconds, $0.deviceIndex) < ($1.atNanoseconds, $1.deviceIndex) }
    }

    func validate(for configuration: FleetConfiguration) throws {
        guard incidents.count <= Self.maxIncidents, reboots.count <= Self.maxIncidents else {
            throw FleetConfigurationError.incidentOutOfRange(id: "*", reason: "more than \(Self.maxIncidents) entries")
        }
        for incident in incidents {
            func fail(_ reason: String) -> FleetConfigurationError {
                .incidentOutOfRange(id: incident.id, reason: reason)
            }
            guard (0..<configuration.deviceCount).contains(incident.deviceIndex) else {
                throw fail("device index \(incident.deviceIndex) is not below \(configuration.deviceCount)")
            }
            if incident.kind == .temperatureRunaway {
                guard incident.interfaceIndex == nil else { throw fail("a temperature runaway is device-level") }
            } else {
                guard let interface = incident.interfaceIndex,
                    (0..<configuration.interfacesPerDevice).contains(interface)
                else { throw fail("needs an interface index below \(configuration.interfacesPerDevice)") }
            }
            guard incident.startNanoseconds >= configuration.startNanoseconds,
                incident.startNanoseconds < incident.endNanoseconds,
                incident.endNanoseconds <= configuration.endNanoseconds
            else { throw fail("start and end must satisfy run start <= start < end <= run end") }
            switch incident.kind {
            case .trafficSurge:
                guard incident.magnitude > 1, incident.magnitude <= 100 else {
                    throw fail("surge factor not in (1, 100]")
                }
            case .crcBurst:
                guard incident.magnitude > 0, incident.magnitude <= 1e6 else { throw fail("CRC rate not in (0, 1e6]") }
            case .linkFlap:
                guard incident.magnitude >= 1, incident.magnitude <= 100 else {
                    throw fail("flap count not in 1...100")
                }
            case .opticDegradation, .temperatureRunaway:
                break
            }
        }
        for reboot in reboots {
            guard (0..<configuration.deviceCount).contains(reboot.deviceIndex), reboot.downNanoseconds >= 0,
                reboot.downNanoseconds <= FleetConfiguration.nanosecondsPerDay
            else {
                throw FleetConfigurationError.incidentOutOfRange(
                    id: "reboot of device \(reboot.deviceIndex)",
                    reason: "device out of range or downtime not within 0...1 day"
                )
            }
        }
    }
}
