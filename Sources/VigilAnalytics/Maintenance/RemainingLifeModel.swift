/// A remaining-useful-life model learned from run-to-failure history: which sensors it reads, how it normalises
/// them, how it turns them into features (``HealthFeatureConfiguration``) and the gradient-boosted trees that map
/// features to remaining cycles (``RegressionForest``).
///
/// Fitting, in full:
/// 1. Sensors: every column not named `setting…` that varies in the training rows (at least three distinct
///    values; a constant or two-valued column carries no trend). Chosen from the data, not from a list.
/// 2. Normalisation: each sensor's mean and standard deviation over all training rows.
/// 3. Samples: every cycle of every unit, its features from the readings up to that cycle, its target the
///    cycles left to the unit's last one, capped at `lifeCapCycles` (early in life, wear does not show yet, so
///    "far from failure" is all a model can say: the piecewise-linear target of the C-MAPSS literature).
/// 4. Gradient boosting (``GradientBoosting``) on those samples.
public struct RemainingLifeModel: Sendable, Equatable {
    /// Everything fitting needs besides the data. The defaults were chosen once by 5-fold cross-validation on
    /// C-MAPSS FD001 (`docs/models.md`) and are the model `vigil pdm fit` makes.
    public struct Configuration: Sendable, Equatable {
        /// Remaining life is capped at this many cycles, in training targets and predictions. Default 125.
        public var lifeCapCycles: Double = 125
        public var features = HealthFeatureConfiguration()
        public var boosting = GradientBoostingConfiguration()

        public init() {}

        public var isValid: Bool {
            lifeCapCycles > 0 && lifeCapCycles <= 1e6 && features.isValid && boosting.isValid
        }
    }

    /// One sensor the model reads.
    public struct Sensor: Sendable, Equatable {
        /// Its column name in the history (`s2`, `temperature`).
        public var name: String
        /// Training mean.
        public var mean: Double
        /// Training standard deviation, above 0.
        public var deviation: Double

        public init(name: String, mean: Double, deviation: Double) {
            self.name = name
            self.mean = mean
            self.deviation = deviation
        }
    }

    /// Remaining life is capped at this many cycles.
    public var lifeCapCycles: Double
    public var features: HealthFeatureConfiguration
    public var sensors: [Sensor]
    public var forest: RegressionForest

    public init(
        lifeCapCycles: Double,
        features: HealthFeatureConfiguration,
        sensors: [Sensor],
        forest: RegressionForest
    ) {
        self.lifeCapCycles = lifeCapCycles
        self.features = features
        self.sensors = sensors
        self.forest = forest
    }

    /// Why fitting is impossible.
    public enum FitError: Error, Sendable, Equatable, CustomStringConvertible {
        case invalidConfiguration
        case noVaryingSensor
        case tooFewUnits(found: Int, needed: Int)
        case tooManyFeatureValues(rows: Int, features: Int, limit: Int)

        public var description: String {
            switch self {
            case .invalidConfiguration:
                return "the model settings are out of range"
            case .noVaryingSensor:
                return "no sensor column varies in the training rows: nothing to learn from"
            case .tooFewUnits(let found, let needed):
                return "\(found) units with a whole life; at least \(needed) are needed"
            case .tooManyFeatureValues(let rows, let features, let limit):
                return "\(rows) cycles × \(features) features is more than \(limit) training values (fewer units "
                    + "or sensors)"
            }
        }
    }

    /// Units a fit needs at least.
    public static let minimumTrainingUnits = 2
    /// Training values (cycles × features) a fit may hold: 50,000,000, about 450 MB with their bins.
    public static let maximumTrainingValues = 50_000_000

    /// Fits a model to run-to-failure history (each unit's last row is its failure).
    ///
    /// - Parameters:
    ///   - history: training units.
    ///   - configuration: validated settings (the defaults are the documented model).
    /// - Returns: the fitted model.
    /// - Throws: ``FitError``.
    public static func fit(
        history: RunHistory,
        configuration: Configuration = Configuration()
    ) throws(FitError) -> RemainingLifeModel {
        guard configuration.isValid else { throw .invalidConfiguration }
        guard history.units.count >= minimumTrainingUnits else {
            throw .tooFewUnits(found: history.units.count, needed: minimumTrainingUnits)
        }
        let sensors = chooseSensors(history)
        guard !sensors.isEmpty else { throw .noVaryingSensor }
        var model = RemainingLifeModel(
            lifeCapCycles: configuration.lifeCapCycles,
            features: configuration.features,
            sensors: sensors,
            forest: RegressionForest(baseValue: 0, featureCount: 1)
        )
        let columns = sensors.map { sensor in history.columnNames.firstIndex(of: sensor.name)! }
        let featureCount = model.featureCount
        guard history.rowCount * featureCount <= maximumTrainingValues else {
            throw .tooManyFeatureValues(rows: history.rowCount, features: featureCount, limit: maximumTrainingValues)
        }
        var samples: [Double] = []
        samples.reserveCapacity(history.rowCount * featureCount)
        var targets: [Double] = []
        targets.reserveCapacity(history.rowCount)
        for unit in history.units {
            let lastCycle = unit.cycles[unit.rowCount - 1]
            model.forEachCycle(of: unit, columns: columns, columnCount: history.columnCount) { cycle, features in
                samples.append(contentsOf: features)
                targets.append(min(Double(lastCycle - unit.cycles[cycle]), configuration.lifeCapCycles))
            }
        }
        model.forest = GradientBoosting.fit(
            features: samples,
            targets: targets,
            featureCount: featureCount,
            configuration: configuration.boosting
        )
        return model
    }

    /// Features the forest reads.
    public var featureCount: Int { HealthFeatureConfiguration.featureCount(sensorCount: sensors.count) }

    /// Sensors that vary in the training rows (and are not operating settings), with their mean and deviation.
    static func chooseSensors(_ history: RunHistory) -> [Sensor] {
        var sensors: [Sensor] = []
        let columnCount = history.columnCount
        for column in 0..<columnCount where !RunHistory.isOperatingSetting(history.columnNames[column]) {
            var distinct: Set<Double> = []
            var sum = 0.0
            var count = 0.0
            for unit in history.units {
                for row in 0..<unit.rowCount {
                    let value = unit.values[row * columnCount + column]
                    sum += value
                    count += 1
                    if distinct.count < 3 { distinct.insert(value) }
                }
            }
            guard distinct.count >= 3 else { continue }
            let mean = sum / count
            var squares = 0.0
            for unit in history.units {
                for row in 0..<unit.rowCount {
                    let difference = unit.values[row * columnCount + column] - mean
                    squares += difference * difference
                }
            }
            let deviation = (squares / count).squareRoot()
            guard deviation > 0, deviation.isFinite else { continue }
            sensors.append(Sensor(name: history.columnNames[column], mean: mean, deviation: deviation))
        }
        return sensors
    }

    /// Runs the feature state over a unit's rows, calling `body` with each cycle's row index and features.
    ///
    /// - Parameters:
    ///   - unit: the unit's rows.
    ///   - columns: the history column of each of the model's sensors.
    ///   - columnCount: columns per row in the history.
    ///   - body: called once per row, oldest first; the buffer is valid only during the call.
    public func forEachCycle(
        of unit: RunHistory.Unit,
        columns: [Int],
        columnCount: Int,
        _ body: (Int, UnsafeBufferPointer<Double>) -> Void
    ) {
        precondition(columns.count == sensors.count, "a column per sensor")
        var tracker = HealthFeatureTracker(configuration: features, sensorCount: sensors.count)
        var normalized = [Double](repeating: 0, count: sensors.count)
        var row = [Double](repeating: 0, count: featureCount)
        for cycle in 0..<unit.rowCount {
            for (index, sensor) in sensors.enumerated() {
                normalized[index] = (unit.values[cycle * columnCount + columns[index]] - sensor.mean) / sensor.deviation
            }
            normalized.withUnsafeBufferPointer { tracker.add(normalized: $0, cycle: Double(unit.cycles[cycle])) }
            row.withUnsafeMutableBufferPointer { tracker.write(into: $0) }
            row.withUnsafeBufferPointer { body(cycle, $0) }
        }
    }

    /// The remaining life for one feature vector, clamped to 0...`lifeCapCycles`.
    public func remainingLife(features: UnsafeBufferPointer<Double>) -> Double {
        min(max(forest.predict(features), 0), lifeCapCycles)
    }

    /// Why a history cannot be read by this model: a sensor it needs is not among the columns.
    public func missingSensors(in history: RunHistory) -> [String] {
        sensors.map(\.name).filter { !history.columnNames.contains($0) }
    }

    /// The remaining life of each unit at its last row.
    ///
    /// - Parameter history: units to predict; must have every sensor of the model (``missingSensors(in:)``).
    /// - Returns: per unit, in the history's order, its id and remaining cycles.
    public func predictLastCycles(_ history: RunHistory) -> [(unit: Int64, remainingCycles: Double)] {
        let columns = sensors.map { sensor in history.columnNames.firstIndex(of: sensor.name)! }
        return history.units.map { unit in
            var last = 0.0
            forEachCycle(of: unit, columns: columns, columnCount: history.columnCount) { cycle, features in
                if cycle == unit.rowCount - 1 { last = remainingLife(features: features) }
            }
            return (unit.id, last)
        }
    }
}
