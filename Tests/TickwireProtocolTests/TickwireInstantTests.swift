import Testing
import TickwireProtocol

@Suite struct TickwireInstantTests {
    /// The nanosecond shortcuts the hot loops use agree with the `Duration` arithmetic they replace.
    @Test func nanosecondShortcutsAgreeWithDurationArithmetic() {
        var random = SplitMix64(seed: 5)
        for _ in 0..<10_000 {
            let base = TickwireInstant(nanoseconds: random.next() % (1 << 50))
            let delta = Duration.nanoseconds(Int64(random.next() % (1 << 40)))
            #expect(base.adding(nanoseconds: delta.nonNegativeNanoseconds) == base + delta)
            let later = base + delta
            // Within rounding: the shortcut divides once, `secondsDouble` adds two parts.
            #expect(abs(later.seconds(since: base) - (later - base).secondsDouble) < 1e-12)
            #expect(base.seconds(since: later) == -later.seconds(since: base))
        }
    }

    @Test func addingSaturatesAndNegativeDurationsClampToZero() {
        #expect(TickwireInstant(nanoseconds: .max - 5).adding(nanoseconds: 10) == TickwireInstant(nanoseconds: .max))
        #expect(Duration.seconds(-3).nonNegativeNanoseconds == 0)
        #expect(Duration.milliseconds(1500).nonNegativeNanoseconds == 1_500_000_000)
    }
}
