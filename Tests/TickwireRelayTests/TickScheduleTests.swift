import Testing
import TickwireProtocol
import TickwireRelay
import TickwireSimulation

@Suite struct TickScheduleTests {
    @Test func deadlinesDoNotDrift() {
        let schedule = TickSchedule(rate: 60, start: .milliseconds(5))
        #expect(schedule.deadline(of: 60) == .milliseconds(1005))
        #expect(schedule.deadline(of: 60 * 3600) == TickwireInstant.milliseconds(5) + .seconds(3600))
        #expect(schedule.deadline(of: 1).nanoseconds == 5_000_000 + 16_666_666)
        let fast = TickSchedule(rate: 240, start: .zero)
        #expect(fast.deadline(of: 240 * 100) == .milliseconds(100_000))
    }

    @Test func lateTicksAreCountedAndMissedOnesReported() {
        var schedule = TickSchedule(rate: 60, start: .zero)
        for n in UInt64(0)..<10 { #expect(schedule.poll(now: schedule.deadline(of: n) + .microseconds(200)) == n) }
        #expect(schedule.poll(now: schedule.deadline(of: 10) + .nanoseconds(-1000)) == nil)
        #expect(schedule.lateTicks == 0 && schedule.skippedTicks == 0)
        // 10 ms behind: late, but it is still tick 10 that runs.
        #expect(schedule.poll(now: schedule.deadline(of: 10) + .milliseconds(10)) == 10)
        #expect(schedule.lateTicks == 1 && schedule.skippedTicks == 0)
        // A stall of about 150 ms: the newest due tick runs, the 8 passed over are reported.
        #expect(schedule.poll(now: schedule.deadline(of: 20) + .milliseconds(1)) == 20)
        #expect(schedule.lateTicks == 2 && schedule.skippedTicks == 9)
        #expect(schedule.nextDeadline == schedule.deadline(of: 21))
    }

    @Test func theServerCountsItsLateTicks() throws {
        var relay = try VirtualRelay(seed: 4)
        try relay.addClient(clientID: 1, room: "r")
        relay.advance(by: .seconds(1))
        let before = relay.server.schedule
        #expect(before.lateTicks == 0 && before.skippedTicks == 0)
        #expect(relay.server.counters.ticks == before.next)
        // The host stalls for 100 ms: the next update finds six ticks due.
        relay.server.update(now: relay.now + .milliseconds(100))
        #expect(relay.server.schedule.lateTicks == 1)
        #expect(relay.server.schedule.skippedTicks == 5)
        // One tick ran (the newest due); the schedule moved past all six.
        #expect(relay.server.counters.ticks == before.next + 1)
        #expect(relay.server.schedule.next == before.next + 6)
    }
}
