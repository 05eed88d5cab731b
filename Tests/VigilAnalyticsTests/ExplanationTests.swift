import Testing
import VigilCore

@testable import VigilAnalytics

@Suite("Explanations")
struct ExplanationTests {
    @Test("metric names read as people say them; counted things stay, unit words go")
    func displayNames() {
        #expect(Explanation.displayName(metric: "in_octets", unit: "octets") == "in traffic")
        #expect(Explanation.displayName(metric: "in_packets", unit: "packets") == "in packets")
        #expect(Explanation.displayName(metric: "in_crc_errors", unit: "errors") == "in CRC errors")
        #expect(Explanation.displayName(metric: "rx_power_dbm", unit: "dBm") == "rx power")
        #expect(Explanation.displayName(metric: "temperature_celsius", unit: "celsius") == "temperature")
        #expect(Explanation.displayName(metric: "cpu_percent", unit: "percent") == "CPU")
        #expect(Explanation.displayName(metric: "octets", unit: "octets") == "traffic")
    }

    @Test("the three kinds of line, with hand-computed numbers")
    func lines() {
        // 1.1375e9 octets/s = 9.1 Gb/s; band 250e6...387.5e6 octets/s = 2.0-3.1 Gb/s.
        #expect(
            Explanation.anomaly(
                metric: "in_octets",
                unit: "octets",
                kind: .counter64,
                observed: 1.1375e9,
                expectedLow: 250e6,
                expectedHigh: 387.5e6
            ) == "in traffic observed 9.1 Gb/s, expected 2.0-3.1 Gb/s"
        )
        // -0.4 dB/day = -0.4 / 86400 dB/s; 2.1 dB to go at that speed = 5.25 days = 126 h.
        let forecast = Explanation.forecast(
            metric: "rx_power_dbm",
            unit: "dBm",
            level: -17.9,
            slopePerSecond: -0.4 / 86_400,
            threshold: -20,
            etaNanoseconds: 126 * 3_600 * EventTime.nanosecondsPerSecond
        )
        #expect(forecast.hasPrefix("rx power -17.9 dBm falling 0.4 dB/day, crosses -20 dBm in "))
        #expect(
            Explanation.threshold(
                metric: "temperature_celsius",
                unit: "celsius",
                value: 86.2,
                threshold: 85,
                direction: .rising
            )
                == "temperature 86.2 degC above the 85 degC shutdown threshold"
        )
    }
}
