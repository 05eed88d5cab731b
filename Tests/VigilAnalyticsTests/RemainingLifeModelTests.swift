import Testing
import VigilAnalytics
import VigilCore

/// The remaining-life model's parts with hand-worked expectations, and its file against damage at every byte.
@Suite("Remaining useful life: features, boosting, history text and the model file")
struct RemainingLifeModelTests {
    @Test("the slope is the least-squares slope over the last window of readings, the levels smooth exponentially")
    func featuresByHand() {
        var configuration = HealthFeatureConfiguration()
        configuration.slopeWindowCycles = 3
        configuration.smoothingFactor = 0.5
        configuration.slowSmoothingFactor = 0.25
        var tracker = HealthFeatureTracker(configuration: configuration, sensorCount: 1)
        var features = [Double](repeating: .nan, count: 4)
        // Readings 0, 4, 2, 10: the last three (4, 2, 10) at x = 0, 1, 2 have slope (10 - 4) / 2 = 3.
        for (cycle, value) in [0.0, 4, 2, 10].enumerated() {
            [value].withUnsafeBufferPointer { tracker.add(normalized: $0, cycle: Double(cycle + 1)) }
        }
        features.withUnsafeMutableBufferPointer { tracker.write(into: $0) }
        // Level: 0 → 2 → 2 → 6; slow level: 0 → 1 → 1.25 → 3.4375.
        #expect(features == [6, 3.4375, 3, 4])
        tracker.reset()
        [7.0].withUnsafeBufferPointer { tracker.add(normalized: $0, cycle: 1) }
        features.withUnsafeMutableBufferPointer { tracker.write(into: $0) }
        #expect(features == [7, 7, 0, 1])
    }

    @Test("boosted trees learn a step in one feature and ignore a noise feature")
    func boostingLearnsAStep() {
        var random = SplitMix64(seed: 3)
        var features: [Double] = []
        var targets: [Double] = []
        for _ in 0..<400 {
            let x = random.nextUnit()
            features += [x, random.nextUnit()]
            targets.append(x > 0.5 ? 100 : 20)
        }
        var configuration = GradientBoostingConfiguration()
        configuration.treeCount = 50
        let forest = GradientBoosting.fit(
            features: features,
            targets: targets,
            featureCount: 2,
            configuration: configuration
        )
        #expect(forest.structuralProblem == nil)
        #expect(forest.nodeFeatures.allSatisfy { $0 == -1 || $0 == 0 || $0 == 1 })
        let low = [0.2, 0.9].withUnsafeBufferPointer { forest.predict($0) }
        let high = [0.8, 0.1].withUnsafeBufferPointer { forest.predict($0) }
        #expect(abs(low - 20) < 2, "\(low)")
        #expect(abs(high - 100) < 2, "\(high)")
    }

    @Test("both history layouts parse; units interleaved by line keep their own rows")
    func historyLayouts() throws {
        let cmapss = "1 1 0 0 100 " + (1...21).map { "\($0).5" }.joined(separator: " ") + "\n"
        let parsed = try RunHistory.parse(Array(cmapss.utf8))
        #expect(parsed.columnNames.count == 24 && parsed.columnNames[3] == "s1")
        #expect(parsed.units[0].values[3] == 1.5 && parsed.units[0].values[23] == 21.5)
        let header = try RunHistory.parse(Array("unit,cycle,t\r\n2,1,5\n3,1,6\n2,2.0,7\n".utf8))
        #expect(header.units.map(\.id) == [2, 3])
        #expect(header.units[0].cycles == [1, 2] && header.units[0].values == [5, 7])
        #expect(throws: RunHistoryError.badCycle(line: 2, text: "-1")) {
            try RunHistory.parse(Array("unit,cycle,t\n2,-1,5\n".utf8))
        }
        #expect(throws: RunHistoryError.lineTooLong(line: 1, limit: RunHistoryLimits.maximumLineBytes)) {
            try RunHistory.parse([UInt8](repeating: UInt8(ascii: "1"), count: RunHistoryLimits.maximumLineBytes + 1))
        }
    }

    /// A small model fitted on three synthetic units of two sensors.
    static let model: RemainingLifeModel = {
        var history = RunHistory(columnNames: ["setting1", "temp", "flat"])
        var random = SplitMix64(seed: 9)
        for (id, life) in [(1, 60), (2, 80), (3, 70)] {
            var unit = RunHistory.Unit(id: Int64(id))
            for cycle in 1...life {
                unit.cycles.append(Int64(cycle))
                unit.values += [random.nextGaussian(), Double(cycle) / Double(life) + 0.05 * random.nextGaussian(), 3]
            }
            history.units.append(unit)
        }
        var configuration = RemainingLifeModel.Configuration()
        configuration.boosting.treeCount = 20
        configuration.boosting.minimumSamplesPerLeaf = 5
        return try! RemainingLifeModel.fit(history: history, configuration: configuration)
    }()

    @Test("a prediction at a cycle reads nothing after it: a unit cut there predicts exactly what the whole unit did")
    func noLookAhead() {
        let model = Self.model
        var history = RunHistory(columnNames: ["temp"])
        var random = SplitMix64(seed: 11)
        var unit = RunHistory.Unit(id: 5)
        for cycle in 1...90 {
            unit.cycles.append(Int64(cycle))
            unit.values.append(Double(cycle) / 90 + 0.05 * random.nextGaussian())
        }
        history.units = [unit]
        var whole: [Double] = []
        model.forEachCycle(of: unit, columns: [0], columnCount: 1) { _, features in
            whole.append(model.remainingLife(features: features))
        }
        for cut in [1, 2, 30, 89] {
            var truncated = history
            truncated.units[0].cycles = Array(unit.cycles.prefix(cut))
            truncated.units[0].values = Array(unit.values.prefix(cut))
            #expect(model.predictLastCycles(truncated)[0].remainingCycles == whole[cut - 1])
        }
        #expect(Set(whole).count > 1)
    }

    @Test("a model file round-trips to an equal model; the setting and the constant column are not read")
    func fileRoundTrip() throws {
        let model = Self.model
        #expect(model.sensors.map(\.name) == ["temp"])
        let bytes = model.fileBytes()
        #expect(Array(bytes.prefix(8)) == Array("VIGILRUL".utf8))
        #expect(try RemainingLifeModel(fileBytes: bytes) == model)
    }

    @Test("every truncation and every flipped bit of a model file is refused, never trusted or crashed on")
    func everyDamageRefused() throws {
        let bytes = Self.model.fileBytes()
        for length in 0..<bytes.count {
            #expect(throws: RemainingLifeModelFileError.self) {
                try RemainingLifeModel(fileBytes: Array(bytes[..<length]))
            }
        }
        for index in bytes.indices {
            var damaged = bytes
            damaged[index] ^= 1 << UInt8(index % 8)
            #expect(throws: RemainingLifeModelFileError.self) { try RemainingLifeModel(fileBytes: damaged) }
        }
    }

    @Test("a file whose checksum matches but whose trees loop or point outside is refused as malformed")
    func hostileStructureRefused() throws {
        var model = Self.model
        let inner = try #require(model.forest.nodeFeatures.firstIndex { $0 >= 0 })
        for left in [Int32(inner), Int32(-1), Int32(model.forest.nodeFeatures.count)] {
            model.forest.nodeLefts[inner] = left
            #expect(throws: RemainingLifeModelFileError.self) { try RemainingLifeModel(fileBytes: model.fileBytes()) }
            do {
                _ = try RemainingLifeModel(fileBytes: model.fileBytes())
            } catch {
                #expect("\(error)".contains("malformed at byte"), "\(error)")
                #expect("\(error)".contains("children at \(left)"), "\(error)")
            }
        }
        model = Self.model
        model.sensors[0].deviation = 0
        #expect(throws: RemainingLifeModelFileError.self) { try RemainingLifeModel(fileBytes: model.fileBytes()) }
    }
}
