import Testing
import TickwireProtocol
import TickwireSimulation

@Suite struct WindowHistogramTests {
    /// A quantile is the upper edge of its bucket: never below the true value, at most 15% above.
    @Test func quantilesAreWithinABucketOfTheTruth() {
        var random = SplitMix64(seed: 4)
        var window = WindowHistogram()
        var samples: [Double] = []
        for _ in 0..<5000 {
            let value = Double(random.next() % 2_000_000) / 1000 + 0.2  // 0.2 ms ... 2 s
            samples.append(value)
            window.record(milliseconds: value)
        }
        samples.sort()
        for q in [0.5, 0.9, 0.99] {
            let truth = samples[Int(Double(samples.count) * q) - 1]
            let estimate = window.quantile(q)
            #expect(estimate >= truth * 0.999 && estimate <= truth * 1.15, "q \(q): \(estimate) vs \(truth)")
        }
        var merged = WindowHistogram()
        merged.merge(window)
        merged.merge(window)
        #expect(merged.count == 10_000 && merged.quantile(0.99) == window.quantile(0.99))
        merged.reset()
        #expect(merged.count == 0 && merged.quantile(0.99) == 0)
    }
}
