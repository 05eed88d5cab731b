import Testing
import VigilAnalytics
import VigilCore

@Suite("Counter increase: wrap or reset")
struct CounterRateTests {
    static let modulus32 = 4_294_967_296.0

    @Test("an increase is the plain difference")
    func normalIncrease() {
        let result = CounterIncrease.classify(
            previous: 1000,
            current: 1500,
            kind: .counter32,
            intervalSeconds: 10,
            recentRatePerSecond: nil
        )
        #expect(result.increase == 500)
        #expect(result.event == .normal)
    }

    @Test("a 32-bit decrease by less than half the modulus, with no rate history, is a wrap")
    func wrapWithoutHistory() {
        let result = CounterIncrease.classify(
            previous: Self.modulus32 - 1000,
            current: 500,
            kind: .counter32,
            intervalSeconds: 10,
            recentRatePerSecond: nil
        )
        #expect(result.increase == 1500)
        #expect(result.event == .wrap)
    }

    @Test("a wrapped increase of half the modulus or more is a reset: increase = current")
    func halfModulusMakesReset() {
        // (2^32 - 2^31) + 10 = 2^31 + 10 >= 2^31.
        let result = CounterIncrease.classify(
            previous: 2_147_483_648,
            current: 10,
            kind: .counter32,
            intervalSeconds: 10,
            recentRatePerSecond: nil
        )
        #expect(result.increase == 10)
        #expect(result.event == .reset)
    }

    @Test("a wrap implying more than 8x the recent rate plus slack is a reset")
    func rateRuleMakesReset() {
        // Wrapped increase = 2^32 - 3.02e9 + 5e5 = 1_275_467_296; ceiling = (8 * 1e6 + 1000) * 10 = 80_010_000.
        let result = CounterIncrease.classify(
            previous: 3_020_000_000,
            current: 500_000,
            kind: .counter32,
            intervalSeconds: 10,
            recentRatePerSecond: 1_000_000
        )
        #expect(result == (500_000, .reset))
        // The same move at a recent rate of 16e6/s: ceiling 1_280_010_000 admits it as a wrap.
        let fast = CounterIncrease.classify(
            previous: 3_020_000_000,
            current: 500_000,
            kind: .counter32,
            intervalSeconds: 10,
            recentRatePerSecond: 16_000_000
        )
        #expect(fast == (1_275_467_296, .wrap))
    }

    @Test("the slack lets an idle counter sitting just below the modulus wrap")
    func slackForIdleCounter() {
        // Wrapped 150 <= (8 * 0 + 1000) * 10.
        let result = CounterIncrease.classify(
            previous: Self.modulus32 - 100,
            current: 50,
            kind: .counter32,
            intervalSeconds: 10,
            recentRatePerSecond: 0
        )
        #expect(result == (150, .wrap))
        // Wrapped 10_050 > 10_000: reset.
        let tooMuch = CounterIncrease.classify(
            previous: Self.modulus32 - 10_000,
            current: 50,
            kind: .counter32,
            intervalSeconds: 10,
            recentRatePerSecond: 0
        )
        #expect(tooMuch == (50, .reset))
    }

    @Test("a 64-bit wrap uses the 2^64 modulus")
    func wrap64() {
        let modulus64 = 18_446_744_073_709_551_616.0
        let result = CounterIncrease.classify(
            previous: modulus64 - 0x1p40,
            current: 0x1p39,
            kind: .counter64,
            intervalSeconds: 10,
            recentRatePerSecond: nil
        )
        #expect(result == (0x1p40 + 0x1p39, .wrap))
        // A counter64 reboot from a realistic value is never a plausible wrap (it would be ~2^64).
        let reboot = CounterIncrease.classify(
            previous: 9e15,
            current: 1000,
            kind: .counter64,
            intervalSeconds: 10,
            recentRatePerSecond: nil
        )
        #expect(reboot == (1000, .reset))
    }

    @Test("hostile readings (NaN, infinity, negative, above the modulus) do not trap or go negative")
    func hostileReadings() {
        let cases: [(Double, Double)] = [
            (.nan, 5), (5, .nan), (.infinity, 5), (5, -.infinity), (100, -50), (Self.modulus32 * 4, 10),
        ]
        for (previous, current) in cases {
            let result = CounterIncrease.classify(
                previous: previous,
                current: current,
                kind: .counter32,
                intervalSeconds: 10,
                recentRatePerSecond: 1
            )
            #expect(!(result.increase < 0), "previous \(previous) current \(current) gave \(result.increase)")
        }
        #expect(
            CounterIncrease.classify(
                previous: 100,
                current: -50,
                kind: .counter32,
                intervalSeconds: 10,
                recentRatePerSecond: nil
            ) == (0, .reset)
        )
    }

    @Test("a gauge is not a counter: the plain (possibly negative) difference")
    func gaugeDifference() {
        let result = CounterIncrease.classify(
            previous: 10,
            current: 4,
            kind: .gauge,
            intervalSeconds: 1,
            recentRatePerSecond: nil
        )
        #expect(result == (-6, .normal))
    }
}
