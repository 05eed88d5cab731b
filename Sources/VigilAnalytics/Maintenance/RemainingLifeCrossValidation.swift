import VigilCore

/// Cross-validation of ``RemainingLifeModel`` by unit, as the C-MAPSS literature scores it: a model fitted on
/// the other folds predicts each held-out unit's remaining life at one random cycle of its life (a *truncation
/// point*), against the true remaining life capped as in training.
///
/// Units are dealt into folds after a seeded shuffle. Truncation points are drawn uniformly from every cycle of
/// the unit (its first to its last), seeded; with `repeats` > 1 they are drawn again with seeds `seed + 1`, … and
/// the spread over draws is reported. The RMSE over every cycle of the held-out units is reported too: it does not
/// depend on the draw.
public struct RemainingLifeCrossValidation: Sendable {
    /// The score of one draw of truncation points.
    public struct Draw: Sendable, Equatable {
        /// Seed of the draw.
        public var seed: UInt64
        /// Root mean squared error of the predicted remaining life, in cycles.
        public var rmse: Double
        /// The PHM08 score: `sum(exp(-d/13) - 1)` over early predictions, `sum(exp(d/10) - 1)` over late ones,
        /// `d = predicted - true`.
        public var phm08Score: Double
    }

    public var foldCount: Int
    public var unitCount: Int
    /// Draws, the first with the seed asked for.
    public var draws: [Draw]
    /// RMSE of the first draw within each fold.
    public var foldRMSE: [Double]
    /// RMSE over every cycle of every held-out unit.
    public var allCyclesRMSE: Double
    /// Each held-out unit's prediction in the first draw: unit id, truncation cycle, true and predicted life.
    public var firstDrawPredictions: [(unit: Int64, cycle: Int64, trueLife: Double, predictedLife: Double)]

    /// Why cross-validation cannot run.
    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case foldCount(requested: Int, units: Int)
        case fit(RemainingLifeModel.FitError)

        public var description: String {
            switch self {
            case .foldCount(let requested, let units):
                return "\(requested) folds over \(units) units: each fold needs a unit and each fit "
                    + "\(RemainingLifeModel.minimumTrainingUnits) (2...units folds)"
            case .fit(let error):
                return "fitting a fold failed: \(error)"
            }
        }
    }

    /// Draws allowed at most.
    public static let maximumRepeats = 1_000

    /// Cross-validates the model `configuration` makes.
    ///
    /// - Parameters:
    ///   - history: run-to-failure units (each unit's last row is its failure).
    ///   - foldCount: folds, 2 up to the unit count (and each training side keeps two units).
    ///   - seed: seed of the fold shuffle and of the first draw of truncation points.
    ///   - repeats: draws of truncation points, 1...1,000.
    ///   - configuration: the model's settings.
    /// - Returns: the scores.
    /// - Throws: ``Failure``.
    public static func run(
        history: RunHistory,
        foldCount: Int,
        seed: UInt64,
        repeats: Int = 1,
        configuration: RemainingLifeModel.Configuration = .init()
    ) throws(Failure) -> RemainingLifeCrossValidation {
        let unitCount = history.units.count
        guard foldCount >= 2, foldCount <= unitCount,
            unitCount - (unitCount + foldCount - 1) / foldCount >= RemainingLifeModel.minimumTrainingUnits
        else { throw .foldCount(requested: foldCount, units: unitCount) }
        precondition((1...maximumRepeats).contains(repeats), "1...1,000 draws")
        var shuffle = SplitMix64(seed: seed)
        var order = Array(0..<unitCount)
        for index in stride(from: unitCount - 1, to: 0, by: -1) {
            order.swapAt(index, Int(shuffle.next() % UInt64(index + 1)))
        }
        var foldOf = [Int](repeating: 0, count: unitCount)
        for (position, unit) in order.enumerated() { foldOf[unit] = position % foldCount }

        // Every held-out unit's prediction at every cycle: draws then only pick.
        var predictions = [[Double]](repeating: [], count: unitCount)
        let cap = configuration.lifeCapCycles
        for fold in 0..<foldCount {
            var training = RunHistory(columnNames: history.columnNames)
            training.units = history.units.indices.filter { foldOf[$0] != fold }.map { history.units[$0] }
            let model: RemainingLifeModel
            do { model = try RemainingLifeModel.fit(history: training, configuration: configuration) } catch {
                throw .fit(error)
            }
            let columns = model.sensors.map { sensor in history.columnNames.firstIndex(of: sensor.name)! }
            for unitIndex in history.units.indices where foldOf[unitIndex] == fold {
                let unit = history.units[unitIndex]
                var lives: [Double] = []
                lives.reserveCapacity(unit.rowCount)
                model.forEachCycle(of: unit, columns: columns, columnCount: history.columnCount) { _, features in
                    lives.append(model.remainingLife(features: features))
                }
                predictions[unitIndex] = lives
            }
        }

        func trueLife(_ unit: RunHistory.Unit, _ row: Int) -> Double {
            min(Double(unit.cycles[unit.rowCount - 1] - unit.cycles[row]), cap)
        }
        var squares = 0.0
        var rowCount = 0
        for (unitIndex, unit) in history.units.enumerated() {
            for row in 0..<unit.rowCount {
                let error = predictions[unitIndex][row] - trueLife(unit, row)
                squares += error * error
                rowCount += 1
            }
        }
        var result = RemainingLifeCrossValidation(
            foldCount: foldCount,
            unitCount: unitCount,
            draws: [],
            foldRMSE: [],
            allCyclesRMSE: (squares / Double(rowCount)).squareRoot(),
            firstDrawPredictions: []
        )
        for repeatIndex in 0..<repeats {
            let drawSeed = seed &+ UInt64(repeatIndex)
            var random = SplitMix64(seed: drawSeed ^ 0x7275_6E63_6174_6500)
            var squares = 0.0
            var score = 0.0
            var foldSquares = [Double](repeating: 0, count: foldCount)
            var foldUnits = [Int](repeating: 0, count: foldCount)
            for (unitIndex, unit) in history.units.enumerated() {
                let row = Int(random.next() % UInt64(unit.rowCount))
                let actual = trueLife(unit, row)
                let predicted = predictions[unitIndex][row]
                let difference = predicted - actual
                squares += difference * difference
                score += difference < 0 ? _exp(-difference / 13) - 1 : _exp(difference / 10) - 1
                foldSquares[foldOf[unitIndex]] += difference * difference
                foldUnits[foldOf[unitIndex]] += 1
                if repeatIndex == 0 {
                    result.firstDrawPredictions.append((unit.id, unit.cycles[row], actual, predicted))
                }
            }
            if repeatIndex == 0 {
                result.foldRMSE = (0..<foldCount).map { (foldSquares[$0] / Double(foldUnits[$0])).squareRoot() }
            }
            result.draws.append(
                Draw(seed: drawSeed, rmse: (squares / Double(unitCount)).squareRoot(), phm08Score: score)
            )
        }
        return result
    }
}

#if canImport(Glibc)
import Glibc
private func _exp(_ x: Double) -> Double { Glibc.exp(x) }
#elseif canImport(Darwin)
import Darwin
private func _exp(_ x: Double) -> Double { Darwin.exp(x) }
#endif
