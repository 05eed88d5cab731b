import Foundation
import VigilCore

/// Synthetic run-to-failure units in the C-MAPSS text layout (unit, cycle, 3 settings, 21 sensors), seeded.
///
/// Each unit lives 100 to 250 cycles. Its wear `w = (cycle / life)^2.5` grows slowly, then fast toward failure.
/// Sensors s2, s3, s4 and s11 rise with wear and s7, s12 fall, each under Gaussian noise about a tenth of its
/// whole drift; s1, s5, s10, s16, s18, s19 are constant; s6 takes two values at random; the other sensors and
/// the settings are noise. So a model must find the six informative sensors itself, and a unit's remaining life
/// shows only through their trend.
enum RunToFailureFixture {
    struct Unit {
        var id: Int
        var life: Int
        /// Cycles written (the life, or fewer when truncated).
        var lastCycle: Int
        /// Cycles left after the last one written, capped at 125.
        var remainingLife: Double { Double(min(life - lastCycle, 125)) }
    }

    /// Units `ids`, each whole (to train on) or cut at a random cycle in the last two thirds of its life.
    static func units(_ ids: ClosedRange<Int>, seed: UInt64, truncated: Bool) -> (text: String, units: [Unit]) {
        var random = SplitMix64(seed: seed)
        var text = ""
        var units: [Unit] = []
        // (sensor, healthy level, drift at failure, noise)
        let drifting: [Int: (Double, Double, Double)] = [
            2: (642, 2.0, 0.2), 3: (1590, 30, 3), 4: (1400, 40, 4), 7: (554, -4, 0.4), 11: (47.4, 1.5, 0.15),
            12: (522, -3, 0.3),
        ]
        let constant: [Int: Double] = [1: 518.67, 5: 14.62, 10: 1.3, 16: 0.03, 18: 2388, 19: 100]
        for id in ids {
            let life = 100 + Int(random.next() % 151)
            let lastCycle = truncated ? life / 3 + Int(random.next() % UInt64(life - life / 3)) : life
            units.append(Unit(id: id, life: life, lastCycle: lastCycle))
            for cycle in 1...lastCycle {
                let wear = pow(Double(cycle) / Double(life), 2.5)
                var fields = [String(id), String(cycle)]
                fields.append(String(format: "%.4f", 0.002 * random.nextGaussian()))
                fields.append(String(format: "%.4f", 0.0003 * random.nextGaussian()))
                fields.append("100.0")
                for sensor in 1...21 {
                    let value: Double
                    if let (level, drift, noise) = drifting[sensor] {
                        value = level + drift * wear + noise * random.nextGaussian()
                    } else if let level = constant[sensor] {
                        value = level
                    } else if sensor == 6 {
                        value = random.next() % 2 == 0 ? 21.60 : 21.61
                    } else {
                        value = 100 + Double(sensor) + random.nextGaussian()
                    }
                    fields.append(String(format: "%.4f", value))
                }
                text += fields.joined(separator: " ") + "\n"
            }
        }
        return (text, units)
    }
}
