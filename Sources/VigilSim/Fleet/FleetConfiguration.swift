import VigilCore

/// What to simulate: fleet size, time span, sampling interval, seed and (optionally) an explicit incident plan.
public struct FleetConfiguration: Sendable, Equatable {
    /// Bounds that keep every table of the simulator small and every wire id below 2^24.
    public static let maxDevices = 4_096
    public static let maxInterfacesPerDevice = 128
    public static let maxTickCount: Int64 = 100_000_000
    public static let nanosecondsPerDay: Int64 = 86_400 * EventTime.nanosecondsPerSecond

    /// 2026-11-02T00:00:00Z, a Monday.
    public static let defaultStartNanoseconds: Int64 = 1_793_577_600 * EventTime.nanosecondsPerSecond
    public static let defaultDeviceCount = 6
    public static let defaultInterfacesPerDevice = 2
    public static let defaultDays = 7
    public static let defaultSeed: UInt64 = 20_261_102

    public var deviceCount: Int
    public var interfacesPerDevice: Int
    public var startNanoseconds: Int64
    public var durationNanoseconds: Int64
    public var intervalNanoseconds: Int64
    public var seed: UInt64
    /// nil: ``IncidentPlan/standard(for:)``, derived from the seed and fleet size.
    public var plan: IncidentPlan?

    public init(
        deviceCount: Int = FleetConfiguration.defaultDeviceCount,
        interfacesPerDevice: Int = FleetConfiguration.defaultInterfacesPerDevice,
        startNanoseconds: Int64 = FleetConfiguration.defaultStartNanoseconds,
        durationNanoseconds: Int64 = Int64(FleetConfiguration.defaultDays) * FleetConfiguration.nanosecondsPerDay,
        intervalNanoseconds: Int64 = 10 * EventTime.nanosecondsPerSecond,
        seed: UInt64 = FleetConfiguration.defaultSeed,
        plan: IncidentPlan? = nil
    ) {
        self.deviceCount = deviceCount
        self.interfacesPerDevice = interfacesPerDevice
        self.startNanoseconds = startNanoseconds
        self.durationNanoseconds = durationNanoseconds
        self.intervalNanoseconds = intervalNanoseconds
        self.seed = seed
        self.plan = plan
    }

    /// Number of sampling rounds: `duration / interval`, rounded down.
    public var tickCount: Int64 { durationNanoseconds / intervalNanoseconds }
    public var endNanoseconds: Int64 { startNanoseconds + tickCount * intervalNanoseconds }

    /// Checks every bound; the simulator calls it before allocating anything.
    public func validate() throws {
        guard (1...Self.maxDevices).contains(deviceCount) else {
            throw FleetConfigurationError.deviceCountOutOfRange(deviceCount, limit: Self.maxDevices)
        }
        guard (1...Self.maxInterfacesPerDevice).contains(interfacesPerDevice) else {
            throw FleetConfigurationError.interfaceCountOutOfRange(
                interfacesPerDevice,
                limit: Self.maxInterfacesPerDevice
            )
        }
        guard intervalNanoseconds >= EventTime.nanosecondsPerSecond,
            intervalNanoseconds % EventTime.nanosecondsPerSecond == 0, intervalNanoseconds <= 3_600 * 1_000_000_000
        else {
            throw FleetConfigurationError.intervalOutOfRange(nanoseconds: intervalNanoseconds)
        }
        guard durationNanoseconds >= intervalNanoseconds, tickCount <= Self.maxTickCount else {
            throw FleetConfigurationError.durationOutOfRange(
                nanoseconds: durationNanoseconds,
                maxTicks: Self.maxTickCount
            )
        }
        if let plan { try plan.validate(for: self) }
    }
}

/// A configuration the simulator refuses, with the offending value.
public enum FleetConfigurationError: Error, Equatable, Sendable, CustomStringConvertible {
    case deviceCountOutOfRange(Int, limit: Int)
    case interfaceCountOutOfRange(Int, limit: Int)
    case intervalOutOfRange(nanoseconds: Int64)
    case durationOutOfRange(nanoseconds: Int64, maxTicks: Int64)
    case incidentOutOfRange(id: String, reason: String)

    public var description: String {
        switch self {
        case .deviceCountOutOfRange(let count, let limit):
            return "device count \(count) is out of range: expected 1...\(limit)"
        case .interfaceCountOutOfRange(let count, let limit):
            return "interfaces per device \(count) is out of range: expected 1...\(limit)"
        case .intervalOutOfRange(let nanoseconds):
            return "interval \(EventTime.describeDuration(nanoseconds: nanoseconds)) is out of range: expected whole "
                + "seconds from 1s to 1h"
        case .durationOutOfRange(let nanoseconds, let maxTicks):
            return "duration \(EventTime.describeDuration(nanoseconds: nanoseconds)) is out of range: expected at "
                + "least one interval and at most \(maxTicks) sampling rounds"
        case .incidentOutOfRange(let id, let reason):
            return "incident \(id) does not fit the fleet: \(reason)"
        }
    }
}
