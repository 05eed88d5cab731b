import ArgumentParser
import Foundation
import VigilAnalytics
import VigilCore

/// `vigil eval rul`: cross-validation of the remaining-life model by unit.
struct EvalRulCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rul",
        abstract: "Cross-validate the remaining-useful-life model by unit: RMSE and the PHM08 score.",
        discussion: """
            Units are dealt into folds (a seeded shuffle); for each fold, the model `vigil pdm fit` makes is \
            fitted on the other folds and predicts each held-out unit at one random cycle of its life (seeded), \
            against the true remaining life capped at 125 cycles. PHM08 score: sum of exp(-d/13)-1 for early and \
            exp(d/10)-1 for late predictions, d = predicted - true. With --repeats N the truncation cycles are \
            drawn N times (seeds SEED, SEED+1, …) and the mean and spread are printed.

            Examples:
              vigil eval rul --data train_FD001.txt --folds 5
              vigil eval rul --data train_FD001.txt --folds 5 --repeats 20 --json | jq .rmse
            """
    )

    @Option(help: ArgumentHelp("Run-to-failure history (as for `vigil pdm fit`).", valueName: "file"))
    var data: String
    @Option(help: "Folds, 2 up to the number of units.")
    var folds = 5
    @Option(help: "Seed of the fold shuffle and of the truncation cycles.")
    var seed: UInt64 = 1
    @Option(help: "Draws of truncation cycles, 1...1000.")
    var repeats = 1
    @Flag(help: "Print one JSON object instead of the text report.")
    var json = false

    func validate() throws {
        guard (1...RemainingLifeCrossValidation.maximumRepeats).contains(repeats) else {
            throw ValidationError("--repeats must be 1...\(RemainingLifeCrossValidation.maximumRepeats)")
        }
        guard folds >= 2 else { throw ValidationError("--folds must be at least 2") }
    }

    func run() throws {
        let history = try readHistory(data)
        let started = DispatchTime.now()
        let result: RemainingLifeCrossValidation
        do {
            result = try RemainingLifeCrossValidation.run(
                history: history,
                foldCount: folds,
                seed: seed,
                repeats: repeats
            )
        } catch {
            throw CommandFailure(description: "\(data): \(error)")
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
        let rmses = result.draws.map(\.rmse)
        let mean = rmses.reduce(0, +) / Double(rmses.count)
        let spread = (rmses.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(rmses.count)).squareRoot()
        let first = result.draws[0]
        func fixed(_ value: Double) -> String { String(format: "%.3f", value) }
        if json {
            var text = "{\"units\":\(result.unitCount),\"folds\":\(result.foldCount),\"seed\":\(seed),"
            text += "\"rmse\":\(fixed(first.rmse)),\"phm08_score\":\(fixed(first.phm08Score)),"
            text += "\"fold_rmse\":[\(result.foldRMSE.map(fixed).joined(separator: ","))],"
            text += "\"all_cycles_rmse\":\(fixed(result.allCyclesRMSE)),\"repeats\":\(repeats),"
            text += "\"rmse_mean\":\(fixed(mean)),\"rmse_sd\":\(fixed(spread)),"
            text += "\"rmse_min\":\(fixed(rmses.min()!)),\"rmse_max\":\(fixed(rmses.max()!)),"
            text += "\"phm08_score_mean\":\(fixed(result.draws.map(\.phm08Score).reduce(0, +) / Double(repeats))),"
            text += "\"seconds\":\(fixed(seconds))}"
            print(text)
        } else {
            var text = "\(result.unitCount) units, \(result.foldCount) folds by unit, seed \(seed)\n"
            text += "RMSE \(fixed(first.rmse)) cycles, PHM08 score \(fixed(first.phm08Score))\n"
            text += "per fold RMSE: \(result.foldRMSE.map(fixed).joined(separator: " "))\n"
            text += "RMSE over every cycle of the held-out units: \(fixed(result.allCyclesRMSE))\n"
            if repeats > 1 {
                text += "over \(repeats) draws: RMSE mean \(fixed(mean)), sd \(fixed(spread)), "
                text += "min \(fixed(rmses.min()!)), max \(fixed(rmses.max()!))\n"
            }
            text += "\(String(format: "%.1f", seconds)) s\n"
            print(text, terminator: "")
        }
        try finishStandardOutput()
    }
}
