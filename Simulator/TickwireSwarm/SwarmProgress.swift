import TickwireSimulation

/// One second of a swarm's progress: the same figures the HTML report charts.
public typealias SwarmProgress = RunSecond

extension RunSecond {
    /// The live progress line.
    public var line: String {
        String(format: "t=%5.1fs  bots %d/%d connected  %.0f pkt/s  loss %.2f%%  rtt p50 %.1f p99 %.1f ms  snapshots %.1f/s per bot",
               elapsedSeconds, botsConnected, botsStarted, packetsPerSecond, lossPercent, rttP50, rttP99, snapshotsPerBotSecond)
    }
}
