import Testing
import VigilCore

@testable import VigilAnalytics

@Suite("Incident tracker: skipping quiet windows")
struct IncidentTrackerSkipTests {
    @Test(
        "observeSkippingQuiet gives the same transitions as observe on seeded score streams, with gaps",
        arguments: [IncidentTracker.Configuration.anomaly, .forecast, .threshold]
    )
    func equivalence(configuration: IncidentTracker.Configuration) throws {
        let tracker = try IncidentTracker(configuration: configuration)
        var fired = 0
        var resolved = 0
        for seed in 0..<20 as Range<UInt64> {
            var random = SplitMix64(seed: seed)
            var every = IncidentTrackerTable(capacity: 1, tracker: tracker)
            var skipping = IncidentTrackerTable(capacity: 1, tracker: tracker)
            var start: Int64 = 0
            var hotStretch = 0
            for _ in 0..<3_000 {
                // Mostly quiet, with stretches of hits, NaNs, and windows that never arrive.
                let roll = random.next() % 1_000
                if roll < 5 { hotStretch = Int(random.next() % 30) }
                let score: Double
                if hotStretch > 0 {
                    hotStretch -= 1
                    score = random.next() % 4 == 0 ? 0 : configuration.fireScore * 3
                } else {
                    score = roll < 10 ? .nan : Double(random.next() % 100) / 100 * configuration.clearScore
                }
                start += configuration.windowNanoseconds * (roll < 3 ? Int64(2 + random.next() % 20) : 1)
                let expected = every.observe(score: score, windowStartNanoseconds: start, localIndex: 0)
                let actual = skipping.observeSkippingQuiet(score: score, windowStartNanoseconds: start, localIndex: 0)
                #expect(actual == expected, "seed \(seed) at \(start)")
                if case .fired = expected { fired += 1 }
                if case .resolved = expected { resolved += 1 }
                #expect(skipping.state(localIndex: 0) == every.state(localIndex: 0))
            }
        }
        // The streams must exercise the lifecycle, or the equivalence proves nothing.
        #expect(fired > 20 && resolved > 20, "fired \(fired), resolved \(resolved)")
    }
}
