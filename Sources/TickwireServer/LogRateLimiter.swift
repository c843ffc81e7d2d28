import TickwireProtocol

/// Lets through at most `linesPerSecond` log lines in each one-second window and counts the
/// rest, so the next line that goes through can say how many were suppressed before it.
struct LogRateLimiter {
    enum Verdict: Equatable {
        /// Log it; `suppressed` lines were dropped since the last one logged.
        case log(suppressed: Int)
        case suppress
    }

    let linesPerSecond: Int
    private var windowStart: TickwireInstant?
    private var inWindow = 0
    private var suppressed = 0

    init(linesPerSecond: Int) { self.linesPerSecond = linesPerSecond }

    mutating func admit(now: TickwireInstant) -> Verdict {
        if windowStart.map({ now - $0 >= .seconds(1) }) ?? true {
            windowStart = now
            inWindow = 0
        }
        guard inWindow < linesPerSecond else {
            suppressed += 1
            return .suppress
        }
        inWindow += 1
        defer { suppressed = 0 }
        return .log(suppressed: suppressed)
    }
}
