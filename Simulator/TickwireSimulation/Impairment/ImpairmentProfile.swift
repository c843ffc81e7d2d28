/// How one direction of a simulated link mistreats packets. Every random choice comes from the
/// pipe's seeded generator, so a profile and a seed always give the same run.
public struct ImpairmentProfile: Sendable, Equatable {
    /// One-way delay every packet gets.
    public var latency: Duration = .zero
    /// Extra delay drawn uniformly from −jitter...+jitter (never below zero in total).
    public var jitter: Duration = .zero
    /// Chance (0...1) a packet is lost.
    public var loss: Double = 0
    /// Chance a packet is delivered twice, the copy with its own delay.
    public var duplicate: Double = 0
    /// Chance a packet is held back by up to `reorderDelay` more, so later packets overtake it.
    public var reorder: Double = 0
    public var reorderDelay: Duration = .milliseconds(50)

    public init(
        latency: Duration = .zero, jitter: Duration = .zero, loss: Double = 0,
        duplicate: Double = 0, reorder: Double = 0, reorderDelay: Duration = .milliseconds(50)
    ) {
        self.latency = latency
        self.jitter = jitter
        self.loss = loss
        self.duplicate = duplicate
        self.reorder = reorder
        self.reorderDelay = reorderDelay
    }

    public static let perfect = ImpairmentProfile()
}
