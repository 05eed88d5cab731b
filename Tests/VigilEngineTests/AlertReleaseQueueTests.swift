import Testing
import VigilCore

@testable import VigilEngine

@Suite("Alert release order")
struct AlertReleaseQueueTests {
    static func alert(
        at decided: Int64,
        device: String,
        metric: String = "in_octets",
        kind: AlertKind = .anomaly,
        status: AlertStatus = .firing,
        labels: [String: String] = [:]
    ) -> DecidedAlert {
        DecidedAlert(
            decidedAtNanoseconds: decided,
            event: AlertEvent(
                id: "0000000000000000",
                status: status,
                kind: kind,
                severity: .warning,
                device: device,
                interface: "et-0/0/0",
                metric: metric,
                labels: labels,
                score: 7,
                startsAt: "2026-11-02T00:00:00Z",
                endsAt: nil,
                explanation: "x"
            )
        )
    }

    @Test("events wait until the bound reaches their decision time, then leave in decision-time order")
    func waitsForTheBound() {
        var queue = AlertReleaseQueue()
        // As two shards would push them: each shard in its own order, interleaved any way.
        for alert in [
            Self.alert(at: 300, device: "b"), Self.alert(at: 120, device: "z"), Self.alert(at: 120, device: "a"),
            Self.alert(at: 60, device: "m"),
        ] {
            queue.insert(alert)
        }
        #expect(queue.release(through: 59).isEmpty)
        #expect(queue.release(through: 120).map(\.event.device) == ["m", "a", "z"])
        #expect(queue.count == 1)
        #expect(queue.release(through: 299).isEmpty)
        #expect(queue.release(through: .max).map(\.event.device) == ["b"])
        #expect(!queue.overflowed)
    }

    @Test("ties on time are broken by device, interface, metric, labels, kind and status, the same every run")
    func tieBreaks() {
        let alerts = [
            Self.alert(at: 60, device: "a", metric: "m", kind: .threshold),
            Self.alert(at: 60, device: "a", metric: "m", kind: .forecast, status: .resolved),
            Self.alert(at: 60, device: "a", metric: "m", kind: .forecast),
            Self.alert(at: 60, device: "a", metric: "m", kind: .anomaly, labels: ["vrf": "b"]),
            Self.alert(at: 60, device: "a", metric: "m", kind: .anomaly, labels: ["vrf": "a"]),
            Self.alert(at: 60, device: "a", metric: "l"),
        ]
        var expected: [String] = []
        for permutation in [
            alerts, alerts.reversed(), [alerts[3], alerts[0], alerts[5], alerts[1], alerts[4], alerts[2]],
        ] {
            var queue = AlertReleaseQueue()
            for alert in permutation { queue.insert(alert) }
            let order = queue.release(through: 60).map {
                "\($0.event.metric) \($0.event.kind) \($0.event.labels) \($0.event.status)"
            }
            if expected.isEmpty { expected = order }
            #expect(order == expected)
        }
        #expect(
            expected == [
                "l anomaly [:] firing", "m forecast [:] firing", "m forecast [:] resolved", "m threshold [:] firing",
                "m anomaly [\"vrf\": \"a\"] firing", "m anomaly [\"vrf\": \"b\"] firing",
            ]
        )
    }

    @Test("events equal in every label (repeated label names collapse) are ordered by id, not by arrival")
    func equalLabelsOrderedById() {
        func alert(id: String) -> DecidedAlert {
            var decided = Self.alert(at: 60, device: "d", kind: .threshold, labels: ["a": "2"])
            decided.event.id = id
            return decided
        }
        var first = AlertReleaseQueue()
        first.insert(alert(id: "bb"))
        first.insert(alert(id: "aa"))
        var second = AlertReleaseQueue()
        second.insert(alert(id: "aa"))
        second.insert(alert(id: "bb"))
        #expect(first.release(through: .max).map(\.event.id) == ["aa", "bb"])
        #expect(second.release(through: .max).map(\.event.id) == ["aa", "bb"])
    }

    @Test("past its capacity the queue releases its earliest events early, and says so")
    func overflow() {
        var queue = AlertReleaseQueue(capacity: 2)
        for minute in [5, 3, 4, 1, 2] as [Int64] { queue.insert(Self.alert(at: minute * 60, device: "d\(minute)")) }
        // A stalled shard keeps the bound low; three of five must go anyway, earliest first.
        #expect(queue.release(through: 0).map(\.event.device) == ["d1", "d2", "d3"])
        #expect(queue.overflowed)
        #expect(queue.release(through: .max).map(\.event.device) == ["d4", "d5"])
    }
}
