/// How one direction of a simulated link mistreats packets. Every random choice comes from the
/// pipe's seeded generator, so a profile and a seed always give the same run.
public struct ImpairmentProfile: Sendable, Equatable {
    public enum JitterModel: String, Sendable, Equatable, CaseIterable {
        /// Uniform in −jitter...+jitter.
        case uniform
        /// Normal with standard deviation `jitter`, cut at ±3σ.
        case normal
    }

    /// Gilbert-Elliott burst loss: a two-state Markov chain stepped once per packet. In the good
    /// state packets are lost with `goodLoss`, in the bad state with `badLoss`. The mean burst
    /// lasts 1 / `badToGood` packets; the long-run loss is
    /// (goodLoss × badToGood + badLoss × goodToBad) / (goodToBad + badToGood).
    public struct BurstLoss: Sendable, Equatable {
        public var goodToBad: Double
        public var badToGood: Double
        public var goodLoss: Double = 0
        public var badLoss: Double = 1

        public init(goodToBad: Double, badToGood: Double, goodLoss: Double = 0, badLoss: Double = 1) {
            self.goodToBad = goodToBad
            self.badToGood = badToGood
            self.goodLoss = goodLoss
            self.badLoss = badLoss
        }

        /// A chain whose long-run loss is `rate` with bursts of `meanBurst` packets on average.
        public static func average(_ rate: Double, meanBurst: Double) -> BurstLoss {
            let badToGood = 1 / max(1, meanBurst)
            let goodToBad = rate >= 1 ? 1 : badToGood * rate / (1 - rate)
            return BurstLoss(goodToBad: goodToBad, badToGood: badToGood)
        }

        public var longRunLoss: Double {
            let total = goodToBad + badToGood
            return total > 0 ? (goodLoss * badToGood + badLoss * goodToBad) / total : goodLoss
        }
    }

    /// One-way delay every packet gets.
    public var latency: Duration = .zero
    /// Extra delay around the latency (see `jitterModel`; the total is never below zero).
    public var jitter: Duration = .zero
    public var jitterModel: JitterModel = .uniform
    /// Chance (0...1) a packet is lost at random, on top of any burst loss.
    public var loss: Double = 0
    public var burstLoss: BurstLoss?
    /// Chance a packet is delivered twice, the copy with its own delay.
    public var duplicate: Double = 0
    /// Chance a packet is held back by up to `reorderDelay` more, so later packets overtake it.
    public var reorder: Double = 0
    public var reorderDelay: Duration = .milliseconds(50)
    /// Link capacity in bytes per second (nil: unlimited). Packets queue behind each other; one
    /// that would wait longer than `maxQueueDelay` is dropped, as a full router queue would.
    public var bandwidthBytesPerSecond: Int?
    public var maxQueueDelay: Duration = .milliseconds(200)
    /// A recorded direction to replay instead of all of the above: each packet meets the fate of
    /// the trace packet at the same offset in time (`TraceReplay`). Outages still apply.
    public var trace: TraceReplay?

    public init(
        latency: Duration = .zero, jitter: Duration = .zero, jitterModel: JitterModel = .uniform, loss: Double = 0,
        burstLoss: BurstLoss? = nil, duplicate: Double = 0, reorder: Double = 0, reorderDelay: Duration = .milliseconds(50),
        bandwidthBytesPerSecond: Int? = nil, maxQueueDelay: Duration = .milliseconds(200)
    ) {
        self.latency = latency
        self.jitter = jitter
        self.jitterModel = jitterModel
        self.loss = loss
        self.burstLoss = burstLoss
        self.duplicate = duplicate
        self.reorder = reorder
        self.reorderDelay = reorderDelay
        self.bandwidthBytesPerSecond = bandwidthBytesPerSecond
        self.maxQueueDelay = maxQueueDelay
    }

    public static let perfect = ImpairmentProfile()
}
