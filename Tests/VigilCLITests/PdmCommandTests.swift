import Foundation
import Testing

/// `vigil pdm fit`, `vigil pdm predict` and `vigil eval rul` as a user runs them, on synthetic run-to-failure
/// units (``RunToFailureFixture``) and, when it is there, on C-MAPSS FD001.
@Suite("vigil pdm and vigil eval rul: remaining useful life learned from run-to-failure history")
struct PdmCommandTests {
    /// 24 whole units fitted once, 20 other units cut short, and the fitted model.
    struct Fitted {
        var directory: URL
        var history: String
        var model: String
        var data: String
        var units: [RunToFailureFixture.Unit]
        var fit: CLIResult
    }

    static let fitted: Result<Fitted, Error> = Result {
        let directory = try CLI.temporaryDirectory("pdm")
        let history = directory.appendingPathComponent("train.txt").path
        let data = directory.appendingPathComponent("test.txt").path
        let model = directory.appendingPathComponent("units.vrul").path
        try RunToFailureFixture.units(1...24, seed: 1, truncated: false).text
            .write(toFile: history, atomically: true, encoding: .utf8)
        let test = RunToFailureFixture.units(101...120, seed: 2, truncated: true)
        try test.text.write(toFile: data, atomically: true, encoding: .utf8)
        let fit = try CLI.run(["pdm", "fit", "--history", history, "--out", model])
        return Fitted(directory: directory, history: history, model: model, data: data, units: test.units, fit: fit)
    }

    /// Parses `unit,rul` lines after the header.
    static func predictions(_ text: String) -> [Int: Double] {
        var result: [Int: Double] = [:]
        for line in text.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: ",")
            if fields.count == 2, let unit = Int(fields[0]), let life = Double(fields[1]) { result[unit] = life }
        }
        return result
    }

    @Test(
        "fit keeps the sensors that vary, not the constant or two-valued ones; predict tracks unseen units' remaining life"
    )
    func fitAndPredict() throws {
        let fitted = try Self.fitted.get()
        #expect(fitted.fit.status == 0, "\(fitted.fit.standardError)")
        // Constant and two-valued columns and the settings are dropped; noisy columns that vary are kept.
        #expect(fitted.fit.standardError.contains("14 sensors (s2 s3 s4 s7 s8 s9 s11 s12 s13 s14 s15 s17 s20 s21)"))
        let result = try CLI.run(["pdm", "predict", "--model", fitted.model, "--data", fitted.data])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.hasPrefix("unit,rul\n"))
        let predicted = Self.predictions(result.standardOutput)
        #expect(predicted.keys.sorted() == Array(101...120))
        var squares = 0.0
        for unit in fitted.units {
            let life = try #require(predicted[unit.id])
            #expect(life >= 0 && life <= 125)
            squares += (life - unit.remainingLife) * (life - unit.remainingLife)
        }
        // The true lives spread over 10...125 cycles (a constant guess scores an RMSE of about 33).
        let rmse = (squares / Double(fitted.units.count)).squareRoot()
        #expect(rmse < 15, "RMSE \(rmse) cycles")
    }

    @Test(
        "the same history and defaults give the same model file, byte for byte, and it round-trips to the same predictions"
    )
    func deterministicRoundTrip() throws {
        let fitted = try Self.fitted.get()
        let again = fitted.directory.appendingPathComponent("again.vrul").path
        let fit = try CLI.run(["pdm", "fit", "--history", fitted.history, "--out", again])
        #expect(fit.status == 0, "\(fit.standardError)")
        let first = try Data(contentsOf: URL(fileURLWithPath: fitted.model))
        #expect(first == (try Data(contentsOf: URL(fileURLWithPath: again))))
        #expect(first.prefix(8) == Data("VIGILRUL".utf8))
        #expect(first.count < 100_000)
        let one = try CLI.run(["pdm", "predict", "--model", fitted.model, "--data", fitted.data])
        let two = try CLI.run(["pdm", "predict", "--model", again, "--data", fitted.data])
        #expect(one.status == 0 && one.standardOutput == two.standardOutput)
    }

    @Test("a damaged, truncated, empty or foreign model file is refused with the reason and exit 1, never a crash")
    func corruptModelsRefused() throws {
        let fitted = try Self.fitted.get()
        let good = [UInt8](try Data(contentsOf: URL(fileURLWithPath: fitted.model)))
        var flipped = good
        flipped[good.count / 2] ^= 0x10
        var futureVersion = good
        futureVersion[8] = 9
        let cases: [(String, [UInt8], String)] = [
            ("flipped", flipped, "damaged: CRC32C"),
            ("truncated", Array(good.prefix(good.count - 100)), "truncated"),
            ("header-only", Array(good.prefix(12)), "truncated"),
            ("empty", [], "not a Vigil remaining-life model"),
            (
                "foreign", Array(try Data(contentsOf: URL(fileURLWithPath: fitted.history)).prefix(4096)),
                "not a Vigil remaining-life model"
            ),
            ("version", futureVersion, "model format version 9"),
        ]
        for (name, bytes, reason) in cases {
            let path = fitted.directory.appendingPathComponent("\(name).vrul").path
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let result = try CLI.run(["pdm", "predict", "--model", path, "--data", fitted.data])
            #expect(result.status == 1, "\(name): \(result.standardError)")
            #expect(result.standardError.contains("cannot use the model \(path): \(reason)"), "\(result.standardError)")
            #expect(result.standardOutput.isEmpty)
        }
        let missing = try CLI.run(["pdm", "predict", "--model", "/nonexistent.vrul", "--data", fitted.data])
        #expect(missing.status == 1 && missing.standardError.contains("No such file or directory"))
    }

    @Test("a malformed history is refused with its line, and data without the model's sensors is named")
    func malformedHistory() throws {
        let fitted = try Self.fitted.get()
        let cases: [(String, String, String)] = [
            ("short-row", "1 1 0 0 100 1 2 3\n", "line 1: 8 fields, expected 26"),
            ("nan", "unit,cycle,a,b\n1,1,2,3\n1,2,nan,3\n", "line 3: a `nan` is not a finite number"),
            ("backwards", "unit,cycle,a\n7,1,2\n7,3,2\n7,2,2\n", "line 4: unit 7 cycle 2 does not follow its cycle 3"),
            ("bad-header", "unit,cycle,a,a\n", "line 1: bad header: `a` named twice"),
            ("empty", "\n\n", "no rows"),
        ]
        for (name, text, reason) in cases {
            let path = fitted.directory.appendingPathComponent("\(name).txt").path
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            let out = fitted.directory.appendingPathComponent("history-\(name).vrul").path
            let result = try CLI.run(["pdm", "fit", "--history", path, "--out", out])
            #expect(result.status == 1, "\(name): \(result.standardError)")
            #expect(result.standardError.contains("\(path): \(reason)"), "\(result.standardError)")
            #expect(!FileManager.default.fileExists(atPath: out))
        }
        let other = fitted.directory.appendingPathComponent("other.txt").path
        try "unit,cycle,s2,s3\n1,1,642,1590\n".write(toFile: other, atomically: true, encoding: .utf8)
        let result = try CLI.run(["pdm", "predict", "--model", fitted.model, "--data", other])
        #expect(result.status == 1)
        #expect(result.standardError.contains("has no column s4, s7, s8"), "\(result.standardError)")
    }

    @Test("eval rul cross-validates by unit: RMSE, PHM08 score and folds in JSON, the same for the same seed")
    func evalRul() throws {
        let fitted = try Self.fitted.get()
        let arguments = ["eval", "rul", "--data", fitted.history, "--folds", "3", "--repeats", "5", "--json"]
        let result = try CLI.run(arguments)
        #expect(result.status == 0, "\(result.standardError)")
        let report = try CLI.json(result.standardOutput)
        #expect(report["units"] as? Int == 24)
        #expect(report["folds"] as? Int == 3)
        #expect((report["fold_rmse"] as? [Double])?.count == 3)
        let rmse = try #require(report["rmse"] as? Double)
        #expect(rmse > 0 && rmse < 15, "RMSE \(rmse)")
        #expect((report["phm08_score"] as? Double ?? -1) > 0)
        #expect((report["rmse_sd"] as? Double ?? -1) >= 0)
        #expect(report["rmse_min"] as? Double ?? 0 <= report["rmse_max"] as? Double ?? -1)
        let again = try CLI.json(try CLI.run(arguments).standardOutput)
        #expect(again["rmse"] as? Double == rmse)
        #expect(again["all_cycles_rmse"] as? Double == report["all_cycles_rmse"] as? Double)

        let tooMany = try CLI.run(["eval", "rul", "--data", fitted.history, "--folds", "30"])
        #expect(tooMany.status == 1 && tooMany.standardError.contains("30 folds over 24 units"))
    }

    /// C-MAPSS FD001 training units, beside the repository (`<repo>/../shared/data/cmapss`).
    static let fd001 = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("../shared/data/cmapss/train_FD001.txt").standardized.path

    @Test(
        "C-MAPSS FD001: 5-fold-by-engine cross-validated RMSE at most 13 cycles with the default model",
        .enabled(
            if: FileManager.default.fileExists(atPath: fd001),
            "C-MAPSS FD001 (<repo>/../shared/data/cmapss/train_FD001.txt) is absent"
        )
    )
    func fd001CrossValidation() throws {
        let result = try CLI.run(
            ["eval", "rul", "--data", Self.fd001, "--folds", "5", "--seed", "1", "--json"],
            timeoutSeconds: 900
        )
        #expect(result.status == 0, "\(result.standardError)")
        let report = try CLI.json(result.standardOutput)
        #expect(report["units"] as? Int == 100)
        let rmse = try #require(report["rmse"] as? Double)
        #expect(rmse <= 13, "RMSE \(rmse)")
        #expect(try #require(report["all_cycles_rmse"] as? Double) <= 13)
    }
}
