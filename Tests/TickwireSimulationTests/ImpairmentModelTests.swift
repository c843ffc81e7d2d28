import Testing
import TickwireProtocol
import TickwireSimulation

@Suite struct ImpairmentModelTests {
    /// Sends `count` packets 1 ms apart and returns the pipe and the delivery delays in ms.
    private func run(_ profile: ImpairmentProfile, count: Int = 20_000, size: Int = 100, seed: UInt64 = 1)
        -> (ImpairedPipe, [Double], [Int])
    {
        var pipe = ImpairedPipe(profile: profile, seed: seed)
        var delays: [Double] = []
        var delivered: [Int] = []
        var now = TickwireInstant.zero
        for n in 0..<count {
            var bytes = [UInt8](repeating: 0, count: size)
            bytes.withUnsafeMutableBytes { $0.storeBytes(of: UInt64(now.nanoseconds), as: UInt64.self) }
            bytes[8] = UInt8(truncatingIfNeeded: n); bytes[9] = UInt8(truncatingIfNeeded: n >> 8); bytes[10] = UInt8(truncatingIfNeeded: n >> 16)
            pipe.send(bytes, now: now)
            now = now + .milliseconds(1)
            while let out = pipe.receive(now: now) {
                let sent = out.withUnsafeBytes { $0.load(as: UInt64.self) }
                delays.append(Double(now.nanoseconds - sent) / 1e6)
                delivered.append(Int(out[8]) | Int(out[9]) << 8 | Int(out[10]) << 16)
            }
        }
        return (pipe, delays, delivered)
    }

    @Test func burstLossAveragesItsRateInBursts() {
        let burst = ImpairmentProfile.BurstLoss.average(0.2, meanBurst: 5)
        #expect(abs(burst.longRunLoss - 0.2) < 1e-9)
        let (pipe, _, delivered) = run(ImpairmentProfile(burstLoss: burst), count: 50_000)
        let lossRate = Double(pipe.counters.lost) / Double(pipe.counters.sent)
        #expect(abs(lossRate - 0.2) < 0.02)
        // Runs of consecutive losses average about 5 packets (random loss at 20% would give 1.25).
        var runs: [Int] = []
        var previous = -1
        for n in delivered {
            if n - previous > 1 { runs.append(n - previous - 1) }
            previous = n
        }
        let mean = Double(runs.reduce(0, +)) / Double(runs.count)
        #expect(mean > 4 && mean < 6, "mean burst \(mean)")
    }

    @Test func normalJitterHasTheStatedSpread() {
        let profile = ImpairmentProfile(latency: .milliseconds(100), jitter: .milliseconds(10), jitterModel: .normal)
        let (_, delays, _) = run(profile)
        let mean = delays.reduce(0, +) / Double(delays.count)
        let sd = (delays.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(delays.count)).squareRoot()
        #expect(abs(mean - 100.5) < 1)   // + half the 1 ms polling step
        #expect(sd > 9 && sd < 11, "sd \(sd)")
        #expect(delays.max()! <= 131 && delays.min()! >= 69)  // cut at 3σ
        let uniform = run(ImpairmentProfile(latency: .milliseconds(100), jitter: .milliseconds(10))).1
        #expect(uniform.max()! <= 111 && uniform.min()! >= 90)
    }

    @Test func bandwidthCapQueuesThenDrops() {
        // 100-byte packets every ms need 128 kB/s with headers; the cap is 64 kB/s.
        let profile = ImpairmentProfile(bandwidthBytesPerSecond: 64_000, maxQueueDelay: .milliseconds(100))
        let (pipe, delays, _) = run(profile, count: 5000)
        let delivered = Double(pipe.counters.delivered)
        #expect(abs(delivered / 5.0 - 500) < 15, "\(delivered / 5) packets per second through a 500 packet/s link")
        #expect(pipe.counters.lostToQueue > 2000)
        #expect(delays.max()! <= 103)
    }

    @Test func outagesDropEverythingInTheirWindow() {
        var pipe = ImpairedPipe(profile: .perfect, seed: 1)
        pipe.outages = [.init(start: .milliseconds(100), end: .milliseconds(200))]
        for ms in UInt64(0)..<300 { pipe.send([1], now: .milliseconds(ms)) }
        #expect(pipe.counters.lostToOutage == 100 && pipe.counters.lost == 100)
        pipe.isDown = true
        pipe.send([1], now: .milliseconds(400))
        #expect(pipe.counters.lostToOutage == 101)
    }

    @Test func theSameSeedGivesTheSameRun() {
        let profile = ImpairmentProfile(latency: .milliseconds(50), jitter: .milliseconds(20), jitterModel: .normal, loss: 0.05,
                                        burstLoss: .average(0.1, meanBurst: 3), duplicate: 0.1, reorder: 0.1)
        #expect(run(profile, count: 3000, seed: 9).2 == run(profile, count: 3000, seed: 9).2)
        #expect(run(profile, count: 3000, seed: 9).2 != run(profile, count: 3000, seed: 10).2)
    }
}
