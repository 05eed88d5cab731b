import Testing
import VigilCore
import VigilSim

@Suite("Fleet simulator")
struct FleetSimulatorTests {
    @Test("the same seed gives the same bytes; another seed gives others")
    func determinism() throws {
        func record(seed: UInt64) throws -> [UInt8] {
            let configuration = FleetConfiguration(
                deviceCount: 3,
                interfacesPerDevice: 2,
                durationNanoseconds: 2 * day + 6 * hour,
                intervalNanoseconds: 60 * second,
                seed: seed
            )
            var encoder = NativeRecordingEncoder()
            _ = try FleetSimulator(configuration: configuration).run(into: &encoder)
            return encoder.bytes
        }
        let first = try record(seed: 7)
        #expect(first.count > 100_000)
        #expect(try record(seed: 7) == first)
        #expect(try record(seed: 8) != first)
    }

    @Test("the catalogue names every series with its kind and unit, device-level ones without an interface")
    func catalogue() throws {
        let catalogue = FleetCatalogue(deviceCount: 12, interfacesPerDevice: 3)
        let series = catalogue.descriptors()
        #expect(series.count == 12 * (3 * 8 + 2))
        let expected: [(String, MetricKind, String)] = [
            ("in_octets", .counter64, "octets"), ("out_octets", .counter64, "octets"),
            ("in_packets", .counter32, "packets"), ("out_packets", .counter32, "packets"),
            ("in_crc_errors", .counter64, "errors"), ("in_discards", .counter64, "packets"),
            ("rx_power_dbm", .gauge, "dBm"), ("tx_power_dbm", .gauge, "dBm"),
        ]
        for (offset, (metric, kind, unit)) in expected.enumerated() {
            let descriptor = series[26 + 8 + offset]  // edge-02, et-0/0/1
            #expect(descriptor.key == SeriesKey(device: "edge-02", interface: "et-0/0/1", metric: metric))
            #expect(descriptor.kind == kind)
            #expect(descriptor.unit == unit)
        }
        #expect(series[24].key == SeriesKey(device: "edge-01", interface: "", metric: "cpu_percent"))
        #expect(series[24].kind == .gauge && series[24].unit == "percent")
        #expect(series[25].key == SeriesKey(device: "edge-01", interface: "", metric: "temperature_celsius"))
        #expect(series[25].unit == "celsius")
        #expect(catalogue.deviceName(11) == "edge-12")
        #expect(catalogue.wireID(device: 1, interface: 1, metric: .inOctets) == 34)
        #expect(catalogue.wireID(device: 1, metric: .temperatureCelsius) == 51)
    }

    @Test("rounds are complete, in time order, on the interval grid, with values quantised as devices report")
    func roundsAndQuantisation() throws {
        let configuration = FleetConfiguration(
            deviceCount: 2,
            interfacesPerDevice: 2,
            durationNanoseconds: 3 * hour,
            plan: IncidentPlan(incidents: [])
        )
        let (simulator, sink) = try run(configuration)
        // 2 devices x (2 interfaces x 8 + 2) = 36 series, 1080 rounds.
        #expect(sink.timestamps.count == 1_080 * 36)
        #expect(sink.batchSizes.allSatisfy { $0 % 36 == 0 && $0 <= simulator.roundsPerBatch * 36 })
        var wrong = 0
        for index in sink.timestamps.indices {
            if sink.timestamps[index] != monday + Int64(index / 36) * 10 * second { wrong += 1 }
            if sink.wireIDs[index] != UInt32(index % 36) { wrong += 1 }
            let value = sink.values[index]
            switch index % 36 % 18 {
            case 16, 17:
                if value != (value * 10).rounded() / 10 { wrong += 1 }
            case let slot where slot % 8 == 6 || slot % 8 == 7:
                if value != (value * 100).rounded() / 100 || value < -7 || value > 1.2 { wrong += 1 }
            default:
                if value != value.rounded() || value < 0 { wrong += 1 }  // counters: whole numbers
            }
        }
        #expect(wrong == 0)
        let temperatures = sink.samples(of: 17).map(\.value)
        #expect(temperatures.allSatisfy { $0 >= 39 && $0 <= 56 })
        let cpu = sink.samples(of: 16).map(\.value)
        #expect(cpu.allSatisfy { $0 >= 0 && $0 <= 60 })
    }

    @Test("32-bit packet counters wrap at 2^32 while the 64-bit octet counters never go down")
    func counterWrap() throws {
        let configuration = FleetConfiguration(
            deviceCount: 2,
            interfacesPerDevice: 4,
            durationNanoseconds: 2 * day,
            intervalNanoseconds: 60 * second,
            plan: IncidentPlan(incidents: [])
        )
        let (simulator, sink) = try run(configuration)
        var wraps = 0
        for device in 0..<2 {
            for interface in 0..<4 {
                let catalogue = simulator.catalogue
                let packets = sink.samples(
                    of: catalogue.wireID(device: device, interface: interface, metric: .inPackets)
                )
                let octets = sink.samples(of: catalogue.wireID(device: device, interface: interface, metric: .inOctets))
                for index in 1..<packets.count where packets[index].value < packets[index - 1].value {
                    wraps += 1
                    // Across a wrap the increase modulo 2^32 is what the octets say, at ~700-900 B per packet.
                    let increase = packets[index].value + 4_294_967_296 - packets[index - 1].value
                    let bytes = octets[index].value - octets[index - 1].value
                    #expect(bytes / increase > 690 && bytes / increase < 910)
                }
                #expect(zip(octets, octets.dropFirst()).allSatisfy { $0.value <= $1.value })
            }
        }
        #expect(wraps >= 1)
    }

    @Test("a maintenance reboot silences the device for 5 minutes, then its counters restart near zero")
    func rebootResetsCounters() throws {
        let rebootAt = monday + day + 13 * hour
        let configuration = FleetConfiguration(
            deviceCount: 2,
            interfacesPerDevice: 2,
            durationNanoseconds: 2 * day,
            plan: IncidentPlan(
                incidents: [],
                reboots: [
                    PlannedReboot(
                        deviceIndex: 1,
                        atNanoseconds: rebootAt,
                        downNanoseconds: 5 * minute,
                        cause: .maintenance
                    )
                ]
            )
        )
        let (simulator, sink) = try run(configuration)
        let catalogue = simulator.catalogue
        for wireID in catalogue.wireID(
            device: 1,
            interface: 0,
            metric: .inOctets
        )...catalogue.wireID(
            device: 1,
            metric: .temperatureCelsius
        ) {
            let samples = sink.samples(of: wireID)
            #expect(!samples.contains { $0.time >= rebootAt && $0.time < rebootAt + 5 * minute })
            #expect(samples.contains { $0.time == rebootAt + 5 * minute })
        }
        // The first reading after the restart holds at most one interval of traffic (4 Gb/s x 1.55 peak
        // x 1.3 noise x 10 s < 1e10 octets), where the counters before were mid-life (~1e14).
        let limits: [(FleetMetric, Double)] = [
            (.inOctets, 1e10), (.outOctets, 1.5e10), (.inCRCErrors, 10), (.inDiscards, 100),
        ]
        for (metric, limit) in limits {
            let samples = sink.samples(of: catalogue.wireID(device: 1, interface: 1, metric: metric))
            let before = samples.last { $0.time < rebootAt }!.value
            let after = samples.first { $0.time == rebootAt + 5 * minute }!.value
            #expect(after < limit, "\(metric) restarts near zero")
            #expect(after <= before)
        }
        // The other device does not notice.
        let other = sink.samples(of: catalogue.wireID(device: 0, interface: 0, metric: .inOctets))
        #expect(other.contains { $0.time == rebootAt + minute })
    }
}
