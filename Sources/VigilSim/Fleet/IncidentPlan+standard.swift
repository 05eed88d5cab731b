import VigilCore

extension IncidentPlan {
    /// Quiet time kept around every incident on the same interface (device-level events: the whole device).
    static let quietGapNanoseconds: Int64 = 4 * 3_600 * EventTime.nanosecondsPerSecond
    /// Bound on placement attempts per incident; an incident that finds no room is left out.
    static let maxPlacementAttempts = 400

    /// The default plan: every kind at least once when the run is long enough, several surges, flaps and CRC
    /// bursts spread across devices, one or two optic degradations ending in failure, one temperature runaway,
    /// one maintenance reboot, and at least `quietGap` between events on the same interface or device.
    ///
    /// Nothing starts before day 2 (`start + 24 h`): detectors learn the daily profile on day 1. Deterministic
    /// in the configuration's seed and fleet size; it uses its own generator, so the plan does not shift the
    /// baseline's noise. O(incidents^2 * attempts), with a few dozen incidents.
    public static func standard(for configuration: FleetConfiguration) -> IncidentPlan {
        var random = SplitMix64(seed: configuration.seed ^ 0x5EED_1A2C_1DE7_0001)
        let interval = configuration.intervalNanoseconds
        let runStart = configuration.startNanoseconds
        let runEnd = configuration.endNanoseconds
        let earliest = runStart + FleetConfiguration.nanosecondsPerDay
        let hour: Int64 = 3_600 * EventTime.nanosecondsPerSecond
        let minute: Int64 = 60 * EventTime.nanosecondsPerSecond
        guard runEnd - earliest >= 2 * hour else { return IncidentPlan(incidents: []) }

        var placer = Placer(
            deviceCount: configuration.deviceCount,
            interfaces: configuration.interfacesPerDevice,
            gap: quietGapNanoseconds
        )
        var incidents: [PlannedIncident] = []
        var reboots: [PlannedReboot] = []
        var nextDevice = Int(random.next() % UInt64(configuration.deviceCount))

        func onGrid(_ time: Int64) -> Int64 { runStart + (time - runStart) / interval * interval }
        func uniform(_ low: Double, _ high: Double) -> Double { low + (high - low) * random.nextUnit() }
        func uniformTime(_ low: Int64, _ high: Int64) -> Int64 {
            high <= low ? low : low + Int64(random.next() % UInt64(high - low))
        }
        // Devices are taken round-robin from a random first one, so incidents spread over the fleet.
        func takeDevice() -> Int {
            defer { nextDevice = (nextDevice + 1) % configuration.deviceCount }
            return nextDevice
        }

        // Optic degradations first: they are the longest, and the link stays down after the failure.
        let opticCount = configuration.deviceCount * configuration.interfacesPerDevice >= 8 ? 2 : 1
        for _ in 0..<opticCount {
            let latestEnd = runEnd - 6 * hour
            let room = latestEnd - earliest
            guard room >= FleetConfiguration.nanosecondsPerDay else { break }
            let duration = min(room, Int64(uniform(2, 4) * Double(FleetConfiguration.nanosecondsPerDay)))
            for _ in 0..<maxPlacementAttempts {
                let device = takeDevice()
                let interface = Int(random.next() % UInt64(configuration.interfacesPerDevice))
                let start = onGrid(uniformTime(earliest, latestEnd - duration))
                let end = onGrid(start + duration)
                // After the failure the link is down for good: the interface stays busy to the end of the run.
                if placer.claim(device: device, interface: interface, start: start, end: runEnd) {
                    incidents.append(
                        PlannedIncident(
                            id: "",
                            kind: .opticDegradation,
                            deviceIndex: device,
                            interfaceIndex: interface,
                            startNanoseconds: start,
                            endNanoseconds: end
                        )
                    )
                    break
                }
            }
        }

        // One temperature runaway (6-12 h), then its thermal shutdown.
        let runawayDuration = onGrid(runStart + Int64(uniform(6, 12) * Double(hour))) - runStart
        if runEnd - earliest >= runawayDuration + 2 * hour {
            for _ in 0..<maxPlacementAttempts {
                let device = takeDevice()
                let start = onGrid(uniformTime(earliest, runEnd - runawayDuration - 2 * hour))
                let end = start + runawayDuration
                if placer.claim(device: device, interface: nil, start: start, end: end + thermalDownNanoseconds) {
                    incidents.append(
                        PlannedIncident(
                            id: "",
                            kind: .temperatureRunaway,
                            deviceIndex: device,
                            interfaceIndex: nil,
                            startNanoseconds: start,
                            endNanoseconds: end
                        )
                    )
                    break
                }
            }
        }

        // One clean maintenance reboot.
        for _ in 0..<maxPlacementAttempts {
            let device = takeDevice()
            let at = onGrid(uniformTime(earliest, runEnd - hour))
            if placer.claim(device: device, interface: nil, start: at, end: at + maintenanceDownNanoseconds) {
                reboots.append(
                    PlannedReboot(
                        deviceIndex: device,
                        atNanoseconds: at,
                        downNanoseconds: maintenanceDownNanoseconds,
                        cause: .maintenance
                    )
                )
                break
            }
        }

        // Sudden incidents: several of each kind, spread across devices.
        let suddenCounts: [(IncidentKind, Int)] = [
            (.trafficSurge, min(64, max(4, configuration.deviceCount / 2))),
            (.linkFlap, min(64, max(3, configuration.deviceCount / 3))),
            (.crcBurst, min(64, max(3, configuration.deviceCount / 3))),
        ]
        for (kind, count) in suddenCounts {
            for _ in 0..<count {
                let minutes: (Double, Double)
                let magnitude: Double
                switch kind {
                case .trafficSurge:
                    minutes = (20, 60)
                    magnitude = (uniform(3.2, 4.8) * 10).rounded() / 10
                case .linkFlap:
                    minutes = (10, 20)
                    magnitude = Double(3 + random.next() % 4)
                default:
                    minutes = (15, 45)
                    // Log-uniform over 20...500 errors/s.
                    magnitude = (20 * _exp(uniform(0, _log(25)))).rounded()
                }
                let duration = Int64(uniform(minutes.0, minutes.1)) * minute
                for _ in 0..<maxPlacementAttempts {
                    let device = takeDevice()
                    let interface = Int(random.next() % UInt64(configuration.interfacesPerDevice))
                    let start = onGrid(uniformTime(earliest, runEnd - duration - hour))
                    let end = onGrid(start + duration)
                    if placer.claim(device: device, interface: interface, start: start, end: end) {
                        incidents.append(
                            PlannedIncident(
                                id: "",
                                kind: kind,
                                deviceIndex: device,
                                interfaceIndex: interface,
                                startNanoseconds: start,
                                endNanoseconds: end,
                                magnitude: magnitude
                            )
                        )
                        break
                    }
                }
            }
        }

        incidents.sort { ($0.startNanoseconds, $0.deviceIndex) < ($1.startNanoseconds, $1.deviceIndex) }
        for index in incidents.indices {
            let number = String(index + 1)
            incidents[index].id = "inc-" + String(repeating: "0", count: max(0, 3 - number.count)) + number
        }
        return IncidentPlan(incidents: incidents, reboots: reboots)
    }
}

/// Busy intervals per interface (and per device, for device-level events), with a quiet gap between them.
private struct Placer {
    struct Busy {
        var device: Int
        /// nil: the whole device.
        var interface: Int?
        var start: Int64
        var end: Int64
    }

    let deviceCount: Int
    let interfaces: Int
    let gap: Int64
    var busy: [Busy] = []

    init(deviceCount: Int, interfaces: Int, gap: Int64) {
        self.deviceCount = deviceCount
        self.interfaces = interfaces
        self.gap = gap
    }

    /// Claims `[start, end)` on the interface (nil: the device) if nothing on it, or on the whole device,
    /// comes within `gap`; device-level claims conflict with everything on the device.
    mutating func claim(device: Int, interface: Int?, start: Int64, end: Int64) -> Bool {
        for other in busy where other.device == device {
            let sameScope = interface == nil || other.interface == nil || other.interface == interface
            if sameScope && start < other.end + gap && other.start < end + gap { return false }
        }
        busy.append(Busy(device: device, interface: interface, start: start, end: end))
        return true
    }
}
