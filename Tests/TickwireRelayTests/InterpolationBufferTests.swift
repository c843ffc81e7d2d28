import Testing
import TickwireProtocol
import TickwireRelay

@Suite struct InterpolationBufferTests {
    static let period: Duration = .nanoseconds(16_666_666)

    static func snapshot(_ tick: UInt32) -> RoomSnapshot {
        RoomSnapshot(tick: tick, serverTime: period * Int(tick), entities: [RoomEntity(entityID: 1, clientID: 9, state: [UInt8(tick & 0xFF)])])
    }

    /// Local clock = server clock + 5 s, one-way delay 50 ms plus `jitter(tick)`.
    static func arrival(_ tick: UInt32, jitter: Duration = .zero) -> TickwireInstant {
        TickwireInstant.seconds(5) + period * Int(tick) + .milliseconds(50) + jitter
    }

    @Test func steadyArrivalsInterpolateTwoTicksBehind() throws {
        var buffer = InterpolationBuffer(configuration: .init(tickRate: 60))
        for tick in UInt32(0)..<120 { buffer.insert(Self.snapshot(tick), receivedAt: Self.arrival(tick)) }
        #expect(buffer.jitter == .zero)
        #expect(buffer.delay == Self.period * 2)
        // The estimate lags the server by exactly the 50 ms delay: server time = local − 5.05 s.
        let now = Self.arrival(119) + .milliseconds(5)
        #expect(buffer.estimatedServerTime(at: now) == Self.period * 119 + .milliseconds(5))
        #expect(buffer.estimatedServerTick(at: now) == 119)
        let sampled = buffer.sample(at: now)
        let sample = try #require(sampled)
        #expect(sample.mode == .interpolating)
        #expect(sample.from.tick == 117 && sample.to.tick == 118)
        #expect(abs(sample.blend - 0.3) < 0.01)  // 5 ms into a 16.7 ms interval
        #expect(buffer.counters.interpolated == 1)
    }

    @Test func jitterWidensTheDelayAndLateSnapshotsAreCounted() {
        var buffer = InterpolationBuffer(configuration: .init(tickRate: 60))
        var random = SplitMix64(seed: 3)
        for tick in UInt32(0)..<300 {
            let jitter = Duration.milliseconds(Int64(random.next() % 20))
            buffer.insert(Self.snapshot(tick), receivedAt: Self.arrival(tick, jitter: jitter))
        }
        #expect(buffer.jitter > .milliseconds(2))
        #expect(buffer.delay > Self.period * 2 + .milliseconds(4))
        var interpolating = 0
        for step in 0..<100 {
            if buffer.sample(at: Self.arrival(299) + .milliseconds(Int64(step % 10)))?.mode == .interpolating { interpolating += 1 }
        }
        #expect(interpolating == 100)
        // A snapshot older than what is already on screen counts as arrived too late.
        buffer.insert(Self.snapshot(100), receivedAt: Self.arrival(299))
        #expect(buffer.counters.arrivedTooLate == 1)
    }

    @Test func aGapExtrapolatesBrieflyThenHolds() throws {
        var buffer = InterpolationBuffer(configuration: .init(tickRate: 60))
        for tick in UInt32(0)..<60 { buffer.insert(Self.snapshot(tick), receivedAt: Self.arrival(tick)) }
        // Nothing arrives after tick 59. Render time passes the newest snapshot 2 ticks later.
        let past = Self.arrival(59) + Self.period * 2 + .milliseconds(40)
        let first = buffer.sample(at: past)
        let extrapolated = try #require(first)
        #expect(extrapolated.mode == .extrapolating)
        #expect(extrapolated.from.tick == 58 && extrapolated.to.tick == 59 && extrapolated.blend > 1)
        let second = buffer.sample(at: past + .milliseconds(200))
        let held = try #require(second)
        #expect(held.mode == .holding && held.from.tick == 59)
        #expect(buffer.counters.extrapolated == 1 && buffer.counters.held == 1)
        // Before anything: nil; before the oldest snapshot: hold the oldest.
        var empty = InterpolationBuffer(configuration: .init(tickRate: 60))
        #expect(empty.sample(at: .seconds(1)) == nil)
        empty.insert(Self.snapshot(10), receivedAt: Self.arrival(10))
        #expect(empty.sample(at: Self.arrival(10))?.mode == .holding)
    }
}
