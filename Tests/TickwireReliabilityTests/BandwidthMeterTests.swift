import Testing
import TickwireProtocol
@testable import TickwireReliability

/// The link's rate meters: kilobits per second over 250 ms windows, smoothed between windows.
@Suite struct BandwidthMeterTests {
    @Test func aSteadyRateReadsItsKilobitsPerSecond() {
        var meter = BandwidthMeter()
        var now = TickwireInstant(nanoseconds: 5_000_000_000)
        // 1,000 bytes every 10 ms: 100 kB/s, 800 kbps.
        for _ in 0..<100 {
            meter.add(bytes: 1000, now: now)
            now = now.adding(nanoseconds: 10_000_000)
        }
        meter.roll(now: now)
        #expect(abs(meter.kbps - 800) < 1, "\(meter.kbps)")
    }

    @Test func nothingIsReadBeforeAWholeWindowAndTheRateIsSmoothedAfter() {
        var meter = BandwidthMeter()
        meter.add(bytes: 5000, now: .zero)
        meter.roll(now: TickwireInstant(nanoseconds: 249_999_999))
        #expect(meter.kbps == 0)
        // The first window: 5,000 bytes in 250 ms, 160 kbps.
        meter.roll(now: TickwireInstant(nanoseconds: 250_000_000))
        #expect(abs(meter.kbps - 160) < 1e-9)
        // An empty window moves the reading a quarter of the way to 0.
        meter.roll(now: TickwireInstant(nanoseconds: 500_000_000))
        #expect(abs(meter.kbps - 120) < 1e-9)
        // A clock that steps back is not a window.
        meter.add(bytes: 100_000, now: TickwireInstant(nanoseconds: 100_000_000))
        #expect(abs(meter.kbps - 120) < 1e-9)
    }
}
