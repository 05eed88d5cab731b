import Testing
import VigilCore
import VigilSim

@Suite("Injected incidents")
struct IncidentTests {
    /// One fleet with every kind of incident, each on its own interface, all on Tuesday (day 2).
    static let tuesday = monday + day
    static let plan = IncidentPlan(incidents: [
        PlannedIncident(
            id: "surge",
            kind: .trafficSurge,
            deviceIndex: 0,
            interfaceIndex: 0,
            startNanoseconds: tuesday + 14 * hour,
            endNanoseconds: tuesday + 14 * hour + 40 * minute,
            magnitude: 4
        ),
        PlannedIncident(
            id: "flap",
            kind: .linkFlap,
            deviceIndex: 0,
            interfaceIndex: 1,
            startNanoseconds: tuesday + 10 * hour,
            endNanoseconds: tuesday + 10 * hour + 15 * minute,
            magnitude: 5
        ),
        PlannedIncident(
            id: "crc",
            kind: .crcBurst,
            deviceIndex: 1,
            interfaceIndex: 0,
            startNanoseconds: tuesday + 6 * hour,
            endNanoseconds: tuesday + 6 * hour + 30 * minute,
            magnitude: 200
        ),
        PlannedIncident(
            id: "optic",
            kind: .opticDegradation,
            deviceIndex: 1,
            interfaceIndex: 1,
            startNanoseconds: tuesday,
            endNanoseconds: tuesday + 2 * day,
            magnitude: 0
        ),
        PlannedIncident(
            id: "heat",
            kind: .temperatureRunaway,
            deviceIndex: 2,
            interfaceIndex: nil,
            startNanoseconds: tuesday + 8 * hour,
            endNanoseconds: tuesday + 16 * hour
        ),
    ])
    static let configuration = FleetConfiguration(
        deviceCount: 3,
        interfacesPerDevice: 2,
        durationNanoseconds: 4 * day,
        intervalNanoseconds: 10 * second,
        plan: plan
    )

    @Test("each kind of incident shows in its window and not outside it")
    func everyKindVisible() throws {
        let (simulator, sink) = try run(Self.configuration)
        let catalogue = simulator.catalogue
        let tuesday = Self.tuesday

        // Surge: in_octets rate 4x the same 40 minutes on Wednesday (same weekday profile).
        let surgeOctets = sink.samples(of: catalogue.wireID(device: 0, interface: 0, metric: .inOctets))
        let surgeStart = tuesday + 14 * hour
        let ratio =
            rate(surgeOctets, from: surgeStart, to: surgeStart + 40 * minute)
            / rate(surgeOctets, from: surgeStart + day, to: surgeStart + day + 40 * minute)
        #expect(ratio > 3.6 && ratio < 4.4)
        let beforeRatio =
            rate(surgeOctets, from: surgeStart - hour, to: surgeStart)
            / rate(surgeOctets, from: surgeStart + day - hour, to: surgeStart + day)
        #expect(beforeRatio > 0.9 && beforeRatio < 1.1)

        // Flap: 5 runs of -40 dBm inside the window, none outside; octets flat while down; CRC ticks.
        let flapStart = tuesday + 10 * hour
        let flapEnd = flapStart + 15 * minute
        let rx = sink.samples(of: catalogue.wireID(device: 0, interface: 1, metric: .rxPowerDBm))
        var downRuns = 0
        for index in 1..<rx.count where rx[index].value == -40 && rx[index - 1].value != -40 { downRuns += 1 }
        #expect(downRuns == 5)
        #expect(rx.filter { $0.value == -40 }.allSatisfy { $0.time >= flapStart && $0.time < flapEnd })
        let flapOctets = sink.samples(of: catalogue.wireID(device: 0, interface: 1, metric: .inOctets))
        for index in 1..<rx.count where rx[index].value == -40 && rx[index - 1].value == -40 {
            #expect(flapOctets[index].value == flapOctets[index - 1].value)
        }
        let flapCRC = sink.samples(of: catalogue.wireID(device: 0, interface: 1, metric: .inCRCErrors))
        let crcDuringFlap = rate(flapCRC, from: flapStart - minute, to: flapEnd + minute) * 17 * 60
        #expect(crcDuringFlap >= 10)  // 10 transitions, 1-4 errors each

        // CRC burst: ~200 errors/s inside, ~0 outside.
        let crc = sink.samples(of: catalogue.wireID(device: 1, interface: 0, metric: .inCRCErrors))
        let burstRate = rate(crc, from: tuesday + 6 * hour, to: tuesday + 6 * hour + 30 * minute)
        #expect(burstRate > 180 && burstRate < 220)
        #expect(rate(crc, from: tuesday + 7 * hour, to: tuesday + 20 * hour) < 0.01)

        // Optic: near normal at the start, near -20 just before the failure, -40 and flat counters after.
        let optic = sink.samples(of: catalogue.wireID(device: 1, interface: 1, metric: .rxPowerDBm))
        let normal = optic.first { $0.time == tuesday - hour }!.value
        #expect(normal > -6.2 && normal < -0.8)
        let halfway = optic.first { $0.time == tuesday + day }!.value
        #expect(halfway < normal - 0.5)
        #expect(halfway > (normal - 20) / 2)  // slowly first: less than half the way down at half time
        let lastBefore = optic.last { $0.time < tuesday + 2 * day }!.value
        #expect(lastBefore < -19 && lastBefore > -20)
        #expect(optic.filter { $0.time >= tuesday + 2 * day }.allSatisfy { $0.value == -40 })
        #expect(optic.filter { $0.time < tuesday + 2 * day }.allSatisfy { $0.value > -20 })
        let opticOctets = sink.samples(of: catalogue.wireID(device: 1, interface: 1, metric: .inOctets))
        let failed = opticOctets.filter { $0.time >= tuesday + 2 * day }
        #expect(failed.first!.value == failed.last!.value)

        // Temperature runaway: climbs to just under 85, silence for 10 min, then a cool restart.
        let heatEnd = tuesday + 16 * hour
        let temperature = sink.samples(of: catalogue.wireID(device: 2, metric: .temperatureCelsius))
        #expect(temperature.first { $0.time == tuesday + 8 * hour }!.value < 56)
        let hot = temperature.last { $0.time < heatEnd }!.value
        #expect(hot >= 83 && hot <= 84.9)
        #expect(!temperature.contains { $0.time >= heatEnd && $0.time < heatEnd + 10 * minute })
        #expect(temperature.first { $0.time >= heatEnd }!.value < 56)
        let heatOctets = sink.samples(of: catalogue.wireID(device: 2, interface: 0, metric: .inOctets))
        #expect(heatOctets.first { $0.time >= heatEnd }!.value < 1e10)
        #expect(
            simulator.plan.effectiveReboots.contains { $0.cause == .thermalShutdown && $0.atNanoseconds == heatEnd }
        )
    }

    @Test("the standard plan: every kind present, nothing before day 2, all inside the run, quiet gaps")
    func standardPlan() throws {
        for seed in UInt64(0)..<40 {
            for (devices, interfaces) in [(6, 4), (10, 8), (2, 1), (20, 8)] {
                let configuration = FleetConfiguration(
                    deviceCount: devices,
                    interfacesPerDevice: interfaces,
                    seed: seed
                )
                let plan = IncidentPlan.standard(for: configuration)
                let dayTwo = configuration.startNanoseconds + day
                for kind in IncidentKind.allCases {
                    #expect(
                        plan.incidents.contains { $0.kind == kind },
                        "seed \(seed) fleet \(devices)x\(interfaces) lacks \(kind)"
                    )
                }
                #expect(plan.incidents.allSatisfy { $0.startNanoseconds >= dayTwo })
                #expect(plan.reboots.count == 1 && plan.reboots.allSatisfy { $0.atNanoseconds >= dayTwo })
                #expect(Set(plan.incidents.map(\.id)).count == plan.incidents.count)
                let withPlan = FleetConfiguration(
                    deviceCount: devices,
                    interfacesPerDevice: interfaces,
                    seed: seed,
                    plan: plan
                )
                #expect(throws: Never.self) { try withPlan.validate() }
                // Sudden incidents on one interface are at least the quiet gap apart.
                let sudden = plan.incidents.filter { !$0.kind.isPredictive }
                for a in sudden {
                    for b in sudden
                    where a.id < b.id && a.deviceIndex == b.deviceIndex && a.interfaceIndex == b.interfaceIndex {
                        #expect(
                            a.endNanoseconds + 4 * hour <= b.startNanoseconds
                                || b.endNanoseconds + 4 * hour <= a.startNanoseconds
                        )
                    }
                }
            }
        }
    }

    @Test("a plan that does not fit the fleet is refused with the incident's id")
    func hostilePlans() {
        let outside = PlannedIncident(
            id: "late",
            kind: .crcBurst,
            deviceIndex: 0,
            interfaceIndex: 0,
            startNanoseconds: monday + 8 * day,
            endNanoseconds: monday + 9 * day,
            magnitude: 50
        )
        let noInterface = PlannedIncident(
            id: "where",
            kind: .trafficSurge,
            deviceIndex: 0,
            interfaceIndex: 9,
            startNanoseconds: monday + day,
            endNanoseconds: monday + day + hour,
            magnitude: 4
        )
        for incident in [outside, noInterface] {
            let configuration = FleetConfiguration(
                deviceCount: 2,
                interfacesPerDevice: 2,
                plan: IncidentPlan(incidents: [incident])
            )
            #expect(throws: FleetConfigurationError.self) { try FleetSimulator(configuration: configuration) }
        }
        #expect(throws: FleetConfigurationError.deviceCountOutOfRange(0, limit: FleetConfiguration.maxDevices)) {
            try FleetConfiguration(deviceCount: 0).validate()
        }
        #expect(throws: FleetConfigurationError.self) {
            try FleetConfiguration(intervalNanoseconds: 1_500_000_000).validate()
        }
    }
}
