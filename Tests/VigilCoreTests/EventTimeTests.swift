import Testing
import VigilCore

@Suite("Event time")
struct EventTimeTests {
    @Test("formats and parses RFC 3339 round trip, including fractions and dates before 1970")
    func rfc3339RoundTrip() {
        #expect(EventTime.rfc3339(nanoseconds: 0) == "1970-01-01T00:00:00Z")
        #expect(EventTime.rfc3339(nanoseconds: 1_795_282_800_250_000_000) == "2026-11-21T17:40:00.25Z")
        #expect(EventTime.parseRFC3339("2026-11-21T17:40:00.25Z") == 1_795_282_800_250_000_000)
        #expect(EventTime.parseRFC3339("2026-11-21T18:40:00+01:00") == 1_795_282_800_000_000_000)
        #expect(EventTime.parseRFC3339("2026-11-21") == 1_795_219_200_000_000_000)
        #expect(EventTime.parseRFC3339("2026-13-01") == nil)
        #expect(EventTime.parseRFC3339("yesterday") == nil)
        var generator = SplitMix64(seed: 11)
        for _ in 0..<2_000 {
            let nanoseconds = Int64(bitPattern: generator.next() % 8_000_000_000_000_000_000) - 4_000_000_000_000_000_000
            #expect(EventTime.parseRFC3339(EventTime.rfc3339(nanoseconds: nanoseconds)) == nanoseconds)
        }
    }

    @Test("parses durations with units, compound forms and bare seconds; rejects junk")
    func durations() {
        #expect(EventTime.parseDuration("60s") == 60_000_000_000)
        #expect(EventTime.parseDuration("1h30m") == 5_400_000_000_000)
        #expect(EventTime.parseDuration("250ms") == 250_000_000)
        #expect(EventTime.parseDuration("10") == 10_000_000_000)
        #expect(EventTime.parseDuration("1.5d") == 129_600_000_000_000)
        #expect(EventTime.parseDuration("5 parsecs") == nil)
        #expect(EventTime.parseDuration("") == nil)
        #expect(EventTime.parseDuration("-3s") == nil)
    }
}
