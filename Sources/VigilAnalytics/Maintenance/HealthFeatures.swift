/// How a unit's readings become model features, cycle by cycle, from its history up to that cycle only.
///
/// Per sensor (each reading first normalised by the training units' mean and standard deviation):
/// - its *level*: an exponentially smoothed average (`smoothingFactor`), following the trend through the noise;
/// - its *slow level*: the same with `slowSmoothingFactor`, for the drift over the unit's whole life so far;
/// - its *slope*: the least-squares slope over the last `slopeWindowCycles` readings, in standard deviations per
///   cycle (0 until two readings are in).
///
/// then one feature for the whole unit, its cycle count. A unit's features at a cycle depend only on the readings
/// up to it, so the same state runs offline over a file and online over a device's stream: fixed memory per unit
/// (`slopeWindowCycles` + 2 values per sensor) and O(`slopeWindowCycles`) work per sensor and cycle.
public struct HealthFeatureConfiguration: Sendable, Equatable {
    /// Weight of a new reading in the level. Default 0.1 (a time constant of about 10 cycles).
    public var smoothingFactor: Double = 0.1
    /// Weight of a new reading in the slow level. Default 0.02 (about 50 cycles).
    public var slowSmoothingFactor: Double = 0.02
    /// Readings the slope is fitted over. Default 80 (chosen by cross-validation on C-MAPSS FD001 among 20, 30,
    /// 40, 60, 80 and 120: all-cycle RMSE 12.6 at 20 cycles, 8.9 at 80); 2...256.
    public var slopeWindowCycles: Int = 80

    public init() {}

    /// Features per sensor.
    public static let featuresPerSensor = 3

    /// Features for `sensorCount` sensors: three per sensor, then the cycle count.
    public static func featureCount(sensorCount: Int) -> Int { sensorCount * featuresPerSensor + 1 }

    /// Whether every setting is in its range.
    public var isValid: Bool {
        smoothingFactor > 0 && smoothingFactor <= 1 && slowSmoothingFactor > 0 && slowSmoothingFactor <= 1
            && (2...256).contains(slopeWindowCycles)
    }
}

/// One unit's feature state (see ``HealthFeatureConfiguration``): fixed in size once made.
public struct HealthFeatureTracker: Sendable {
    public let configuration: HealthFeatureConfiguration
    public let sensorCount: Int
    @usableFromInline var levels: [Double]
    @usableFromInline var slowLevels: [Double]
    /// The last `slopeWindowCycles` normalised readings, one row of `sensorCount` per cycle, as a ring.
    @usableFromInline var recent: [Double]
    /// Readings added so far.
    public private(set) var readingCount = 0
    /// The cycle of the last reading.
    public private(set) var cycle: Double = 0

    public init(configuration: HealthFeatureConfiguration, sensorCount: Int) {
        precondition(configuration.isValid && sensorCount > 0, "a validated configuration")
        self.configuration = configuration
        self.sensorCount = sensorCount
        levels = Array(repeating: 0, count: sensorCount)
        slowLevels = Array(repeating: 0, count: sensorCount)
        recent = Array(repeating: 0, count: sensorCount * configuration.slopeWindowCycles)
    }

    /// Forgets every reading (a new unit).
    public mutating func reset() {
        readingCount = 0
        cycle = 0
    }

    /// Takes one cycle's normalised readings.
    ///
    /// - Parameters:
    ///   - normalized: `sensorCount` readings, each `(raw - mean) / deviation`.
    ///   - cycle: the unit's cycle number (its age).
    public mutating func add(normalized: UnsafeBufferPointer<Double>, cycle: Double) {
        precondition(normalized.count == sensorCount, "one reading per sensor")
        let row = readingCount % configuration.slopeWindowCycles
        let fast = configuration.smoothingFactor
        let slow = configuration.slowSmoothingFactor
        for sensor in 0..<sensorCount {
            let value = normalized[sensor]
            if readingCount == 0 {
                levels[sensor] = value
                slowLevels[sensor] = value
            } else {
                levels[sensor] += fast * (value - levels[sensor])
                slowLevels[sensor] += slow * (value - slowLevels[sensor])
            }
            recent[row * sensorCount + sensor] = value
        }
        readingCount += 1
        self.cycle = cycle
    }

    /// Writes the features after the readings so far into `features`
    /// (``HealthFeatureConfiguration/featureCount(sensorCount:)`` values).
    public func write(into features: UnsafeMutableBufferPointer<Double>) {
        precondition(
            features.count == HealthFeatureConfiguration.featureCount(sensorCount: sensorCount),
            "room for every feature"
        )
        let window = configuration.slopeWindowCycles
        let count = min(readingCount, window)
        // Readings at x = 0..<count, oldest first: the slope is (n Sxy - Sx Sy) / (n Sxx - Sx^2).
        let n = Double(count)
        let sumX = n * (n - 1) / 2
        let sumXX = (n - 1) * n * (2 * n - 1) / 6
        let denominator = n * sumXX - sumX * sumX
        let oldestRow = readingCount - count
        for sensor in 0..<sensorCount {
            var slope = 0.0
            if count >= 2 {
                var sumY = 0.0
                var sumXY = 0.0
                for offset in 0..<count {
                    let value = recent[((oldestRow + offset) % window) * sensorCount + sensor]
                    sumY += value
                    sumXY += Double(offset) * value
                }
                slope = (n * sumXY - sumX * sumY) / denominator
            }
            let base = sensor * HealthFeatureConfiguration.featuresPerSensor
            features[base] = levels[sensor]
            features[base + 1] = slowLevels[sensor]
            features[base + 2] = slope
        }
        features[features.count - 1] = cycle
    }
}
