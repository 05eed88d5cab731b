import VigilCore

/// The fleet simulator behind `vigil generate`: deterministic synthetic telemetry with injected incidents.
///
/// One round of every series per interval, in time order (a device that is rebooting skips its series).
/// Everything random comes from ``FleetConfiguration/seed``: the same configuration gives the same samples,
/// bit for bit. Static per-series parameters, the incident plan and the per-sample noise use separate
/// generators, so a different plan leaves the baseline's parameters alone.
///
/// Cost: O(rounds * (series + incidents)); per sample a few arithmetic operations and at most two Gaussian
/// draws, no allocation (the sample buffers and state tables are allocated once per run).
public struct FleetSimulator: Sendable {
    public let configuration: FleetConfiguration
    public let catalogue: FleetCatalogue
    /// The plan in force: the configuration's, or ``IncidentPlan/standard(for:)``.
    public let plan: IncidentPlan
    /// Samples per batch handed to the sink, at most: whole rounds, about 8192 samples.
    public let roundsPerBatch: Int

    /// rx power of a failed link (loss of signal), and the failure thresholds of the spec.
    public static let lossOfSignalDBm = -40.0
    public static let receiverSensitivityDBm = -20.0
    public static let shutdownCelsius = 85.0

    public init(configuration: FleetConfiguration) throws {
        try configuration.validate()
        self.configuration = configuration
        self.catalogue = FleetCatalogue(
            deviceCount: configuration.deviceCount,
            interfacesPerDevice: configuration.interfacesPerDevice
        )
        self.plan = configuration.plan ?? IncidentPlan.standard(for: configuration)
        self.roundsPerBatch = max(1, 8_192 / catalogue.seriesCount)
    }

    /// Totals of one run.
    public struct RunSummary: Sendable, Equatable {
        public var series: Int
        public var rounds: Int64
        public var samples: Int64
    }

    /// Generates the whole run into `sink`.
    /// - Parameters:
    ///   - sink: receives the schema, then batches of whole rounds.
    ///   - progress: called after each batch with (rounds done, rounds in total); for a progress line.
    /// - Returns: how many series, rounds and samples were produced.
    /// - Throws: whatever the sink throws; generation stops there.
    public func run<Sink: FleetSampleSink>(
        into sink: inout Sink,
        progress: ((_ roundsDone: Int64, _ roundsTotal: Int64) -> Void)? = nil
    ) throws -> RunSummary {
        try sink.declare(series: catalogue.descriptors())
        var state = FleetState(simulator: self)
        let capacity = catalogue.seriesCount * roundsPerBatch
        let timestamps = UnsafeMutablePointer<Int64>.allocate(capacity: capacity)
        let wireIDs = UnsafeMutablePointer<UInt32>.allocate(capacity: capacity)
        let values = UnsafeMutablePointer<Double>.allocate(capacity: capacity)
        defer {
            timestamps.deallocate()
            wireIDs.deallocate()
            values.deallocate()
        }
        let rounds = configuration.tickCount
        var samples: Int64 = 0
        var count = 0
        for round in 0..<rounds {
            let time = configuration.startNanoseconds + round * configuration.intervalNanoseconds
            count = state.emitRound(at: time, timestamps: timestamps, wireIDs: wireIDs, values: values, count: count)
            if count + catalogue.seriesCount > capacity || round == rounds - 1 {
                try sink.consume(
                    timestamps: UnsafeBufferPointer(start: timestamps, count: count),
                    wireIDs: UnsafeBufferPointer(start: wireIDs, count: count),
                    values: UnsafeBufferPointer(start: values, count: count)
                )
                samples += Int64(count)
                count = 0
                progress?(round + 1, rounds)
            }
        }
        return RunSummary(series: catalogue.seriesCount, rounds: rounds, samples: samples)
    }
}

/// The simulator's mutable state during one run: static parameters, counters, and this round's incident
/// effects, as flat tables indexed by global interface (`device * interfaces + interface`) or device.
struct FleetState {
    let catalogue: FleetCatalogue
    let incidents: [PlannedIncident]
    let reboots: [PlannedReboot]
    let intervalSeconds: Double
    var noise: SplitMix64

    // Static parameters.
    var baseInBytesPerSecond: [Double]
    var baseOutBytesPerSecond: [Double]
    var bytesPerPacketIn: [Double]
    var bytesPerPacketOut: [Double]
    var rxLevelDBm: [Double]
    var txLevelDBm: [Double]
    var baseCelsius: [Double]
    var baseCPUPercent: [Double]
    var cpuTrafficPercent: [Double]

    // Counters.
    var inOctets: [UInt64]
    var outOctets: [UInt64]
    var inPackets: [UInt32]
    var outPackets: [UInt32]
    var crcErrors: [UInt64]
    var discards: [UInt64]

    // Effects in force this round, and what was in force last round (for transitions).
    var surgeFactor: [Double]
    var crcErrorsPerSecond: [Double]
    /// Optic degradation progress: 0 normal, 1 at the failure; negative when not degrading.
    var degradation: [Double]
    var linkDown: [Bool]
    var linkWasDown: [Bool]
    var linkFailed: [Bool]
    /// Temperature runaway progress in [0, 1); negative when none.
    var runaway: [Double]
    var deviceDown: [Bool]
    var deviceWasDown: [Bool]

    init(simulator: FleetSimulator) {
        let catalogue = simulator.catalogue
        let configuration = simulator.configuration
        self.catalogue = catalogue
        self.incidents = simulator.plan.incidents
        self.reboots = simulator.plan.effectiveReboots
        self.intervalSeconds = Double(configuration.intervalNanoseconds) / 1e9
        self.noise = SplitMix64(seed: configuration.seed ^ 0x0015_E000_0000_0001)
        var parameters = SplitMix64(seed: configuration.seed ^ 0x9A2A_3E7E_0000_0002)
        let interfaceCount = catalogue.deviceCount * catalogue.interfacesPerDevice
        let deviceCount = catalogue.deviceCount

        func uniform(_ low: Double, _ high: Double) -> Double { low + (high - low) * parameters.nextUnit() }
        baseInBytesPerSecond = []
        baseOutBytesPerSecond = []
        bytesPerPacketIn = []
        bytesPerPacketOut = []
        rxLevelDBm = []
        txLevelDBm = []
        inOctets = []
        outOctets = []
        inPackets = []
        outPackets = []
        for _ in 0..<interfaceCount {
            // 0.2-4 Gb/s, log-uniform.
            let inBitsPerSecond = 0.2e9 * _exp(uniform(0, _log(20)))
            baseInBytesPerSecond.append(inBitsPerSecond / 8)
            baseOutBytesPerSecond.append(inBitsPerSecond / 8 * uniform(0.5, 1.3))
            bytesPerPacketIn.append(uniform(700, 900))
            bytesPerPacketOut.append(uniform(600, 1000))
            rxLevelDBm.append((uniform(-6, -1) * 100).rounded() / 100)
            txLevelDBm.append((uniform(-2, 1) * 100).rounded() / 100)
            // Counters start mid-life: 64-bit ones below 2^48 (exact as Double), 32-bit ones anywhere.
            inOctets.append(parameters.next() >> 16)
            outOctets.append(parameters.next() >> 16)
            inPackets.append(UInt32(truncatingIfNeeded: parameters.next()))
            outPackets.append(UInt32(truncatingIfNeeded: parameters.next()))
        }
        crcErrors = (0..<interfaceCount).map { _ in parameters.next() % 50 }
        discards = (0..<interfaceCount).map { _ in parameters.next() % 100_000 }
        baseCelsius = (0..<deviceCount).map { _ in uniform(40, 50) }
        baseCPUPercent = (0..<deviceCount).map { _ in uniform(10, 22) }
        cpuTrafficPercent = (0..<deviceCount).map { _ in uniform(6, 16) }

        surgeFactor = Array(repeating: 1, count: interfaceCount)
        crcErrorsPerSecond = Array(repeating: 0, count: interfaceCount)
        degradation = Array(repeating: -1, count: interfaceCount)
        linkDown = Array(repeating: false, count: interfaceCount)
        linkWasDown = Array(repeating: false, count: interfaceCount)
        linkFailed = Array(repeating: false, count: interfaceCount)
        runaway = Array(repeating: -1, count: deviceCount)
        deviceDown = Array(repeating: false, count: deviceCount)
        deviceWasDown = Array(repeating: false, count: deviceCount)
    }

    /// Applies the plan to this round: O(interfaces + incidents + reboots).
    mutating func applyPlan(at time: Int64) {
        for index in surgeFactor.indices {
            surgeFactor[index] = 1
            crcErrorsPerSecond[index] = 0
            degradation[index] = -1
            linkDown[index] = linkFailed[index]
        }
        for device in runaway.indices {
            runaway[device] = -1
            deviceDown[device] = false
        }
        let interfaces = catalogue.interfacesPerDevice
        for incident in incidents {
            let start = incident.startNanoseconds
            let end = incident.endNanoseconds
            let progress = Double(time - start) / Double(end - start)
            let global = incident.deviceIndex * interfaces + (incident.interfaceIndex ?? 0)
            switch incident.kind {
            case .trafficSurge:
                if time >= start && time < end { surgeFactor[global] *= incident.magnitude }
            case .crcBurst:
                if time >= start && time < end { crcErrorsPerSecond[global] += incident.magnitude }
            case .linkFlap:
                // `magnitude` down periods, one at the start of each equal slice, 40 % of the slice long.
                guard time >= start && time < end else { break }
                let flaps = max(1, Int64(incident.magnitude))
                let slice = (end - start) / flaps
                let offset = (time - start) % slice
                if offset < max(slice * 2 / 5, 1) { linkDown[global] = true }
            case .opticDegradation:
                if time >= end {
                    linkFailed[global] = true
                    linkDown[global] = true
                } else if time >= start {
                    degradation[global] = progress
                }
            case .temperatureRunaway:
                if time >= start && time < end { runaway[incident.deviceIndex] = progress }
            }
        }
        for reboot in reboots where time >= reboot.atNanoseconds && time < reboot.resumesNanoseconds {
            deviceDown[reboot.deviceIndex] = true
        }
    }

    /// Appends one round of samples at `time` (skipping devices that are down) after `count` samples
    /// already in the buffers. Returns the new count. The buffers hold at least one more round.
    mutating func emitRound(
        at time: Int64,
        timestamps: UnsafeMutablePointer<Int64>,
        wireIDs: UnsafeMutablePointer<UInt32>,
        values: UnsafeMutablePointer<Double>,
        count startCount: Int
    ) -> Int {
        applyPlan(at: time)
        var count = startCount
        @inline(__always) func append(_ wireID: UInt32, _ value: Double) {
            timestamps[count] = time
            wireIDs[count] = wireID
            values[count] = value
            count &+= 1
        }
        let shape = DailyProfile.shape(secondOfDay: DailyProfile.secondOfDay(nanoseconds: time))
        let traffic = DailyProfile.trafficFactor(nanoseconds: time)
        let interfaces = catalogue.interfacesPerDevice
        for device in 0..<catalogue.deviceCount {
            if deviceDown[device] {
                deviceWasDown[device] = true
                continue
            }
            if deviceWasDown[device] {
                deviceWasDown[device] = false
                restartCounters(device: device)
            }
            var wireID = catalogue.wireID(device: device, interface: 0, metric: .inOctets)
            for interface in 0..<interfaces {
                let global = device * interfaces + interface
                if linkDown[global] != linkWasDown[global] {
                    // Each transition of the link costs a few errored frames.
                    crcErrors[global] &+= 1 &+ noise.next() % 4
                    linkWasDown[global] = linkDown[global]
                }
                if !linkDown[global] { advanceTraffic(global: global, traffic: traffic) }
                let rxPower: Double
                if linkDown[global] {
                    rxPower = FleetSimulator.lossOfSignalDBm
                } else if degradation[global] >= 0 {
                    // Slowly, then faster: an exponential ramp from the normal level to -20 dBm at the failure.
                    let span = rxLevelDBm[global] - FleetSimulator.receiverSensitivityDBm
                    let drop = span * (_exp(3 * degradation[global]) - 1) / (_exp(3) - 1)
                    let level = rxLevelDBm[global] - drop + 0.025 * noise.nextGaussian()
                    rxPower = max((level * 100).rounded() / 100, FleetSimulator.receiverSensitivityDBm + 0.01)
                } else {
                    rxPower = ((rxLevelDBm[global] + 0.025 * noise.nextGaussian()) * 100).rounded() / 100
                }
                let txPower = ((txLevelDBm[global] + 0.015 * noise.nextGaussian()) * 100).rounded() / 100
                append(wireID, Double(inOctets[global]))
                append(wireID &+ 1, Double(outOctets[global]))
                append(wireID &+ 2, Double(inPackets[global]))
                append(wireID &+ 3, Double(outPackets[global]))
                append(wireID &+ 4, Double(crcErrors[global]))
                append(wireID &+ 5, Double(discards[global]))
                append(wireID &+ 6, rxPower)
                append(wireID &+ 7, txPower)
                wireID &+= 8
            }
            let cpu = baseCPUPercent[device] + cpuTrafficPercent[device] * traffic + 1.5 * noise.nextGaussian()
            append(wireID, (min(max(cpu, 0), 100) * 10).rounded() / 10)
            var celsius = baseCelsius[device] + 3 * shape + 0.15 * noise.nextGaussian()
            if runaway[device] >= 0 {
                // Fan failure: climbs toward the 85 degC shutdown, reached exactly at the incident's end.
                let climb = _pow(runaway[device], 1.6)
                celsius = min(celsius + (FleetSimulator.shutdownCelsius - celsius) * climb, 84.9)
            }
            append(wireID &+ 1, (celsius * 10).rounded() / 10)
        }
        return count
    }

    /// Advances the traffic counters of one interface whose link is up by one interval.
    @inline(__always)
    mutating func advanceTraffic(global: Int, traffic: Double) {
        let load = traffic * surgeFactor[global]
        let inBytes = max(0, baseInBytesPerSecond[global] * load * (1 + 0.05 * noise.nextGaussian()) * intervalSeconds)
        let outBytes = max(
            0,
            baseOutBytesPerSecond[global] * traffic * (1 + 0.05 * noise.nextGaussian()) * intervalSeconds
        )
        let inPacketCount = (inBytes / bytesPerPacketIn[global]).rounded()
        inOctets[global] &+= UInt64(inBytes.rounded())
        outOctets[global] &+= UInt64(outBytes.rounded())
        inPackets[global] &+= UInt32(truncatingIfNeeded: UInt64(inPacketCount))
        outPackets[global] &+= UInt32(truncatingIfNeeded: UInt64((outBytes / bytesPerPacketOut[global]).rounded()))
        // Discards grow with the square of the load: a handful per interval at peak, many more in a surge.
        let expectedDiscards = inPacketCount * 2e-7 * load * load
        discards[global] &+= UInt64(expectedDiscards + noise.nextUnit())
        let crcRate = crcErrorsPerSecond[global]
        if crcRate > 0 {
            crcErrors[global] &+= UInt64(
                max(0, (crcRate * intervalSeconds * (1 + 0.2 * noise.nextGaussian())).rounded())
            )
        } else if noise.next() % 50_000 == 0 {
            crcErrors[global] &+= 1
        }
    }

    /// After a reboot every counter of the device restarts near zero.
    mutating func restartCounters(device: Int) {
        let interfaces = catalogue.interfacesPerDevice
        for global in device * interfaces..<(device + 1) * interfaces {
            inOctets[global] = noise.next() % 100_000
            outOctets[global] = noise.next() % 100_000
            inPackets[global] = UInt32(inOctets[global] / 800)
            outPackets[global] = UInt32(outOctets[global] / 800)
            crcErrors[global] = 0
            discards[global] = 0
        }
    }
}
