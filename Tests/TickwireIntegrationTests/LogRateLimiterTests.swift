import Testing
import TickwireProtocol
@testable import TickwireServer

/// The debug log of dropped requests lets 10 lines a second through and says how many it held back.
@Suite struct LogRateLimiterTests {
    @Test func aFloodOfLinesIsCappedPerSecondAndTheNextLineCountsWhatWasSuppressed() {
        var limiter = LogRateLimiter(linesPerSecond: 10)
        var logged = 0
        for k in 0..<1000 {
            if case .log = limiter.admit(now: .milliseconds(UInt64(k))) { logged += 1 }
        }
        #expect(logged == 10)
        #expect(limiter.admit(now: .milliseconds(1000)) == .log(suppressed: 990))
        #expect(limiter.admit(now: .milliseconds(1001)) == .log(suppressed: 0))
    }
}
