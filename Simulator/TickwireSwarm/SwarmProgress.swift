import TickwireSimulation

/// One line of live progress.
public struct SwarmProgress: Sendable {
    public var elapsedSeconds: Double
    public var botsStarted: Int
    public var botsConnected: Int
    /// Datagrams in and out per second over the last interval, all bots together.
    public var packetsPerSecond: Double
    /// Average packet loss the bots' links estimate, in percent.
    public var lossPercent: Double
    public var rttP50: Double
    public var rttP99: Double
    /// Snapshots decoded per connected bot per second over the last interval.
    public var snapshotsPerBotSecond: Double

    public init(elapsedSeconds: Double, botsStarted: Int, botsConnected: Int, packetsPerSecond: Double, lossPercent: Double,
                rttP50: Double, rttP99: Double, snapshotsPerBotSecond: Double) {
        self.elapsedSeconds = elapsedSeconds
        self.botsStarted = botsStarted
        self.botsConnected = botsConnected
        self.packetsPerSecond = packetsPerSecond
        self.lossPercent = lossPercent
        self.rttP50 = rttP50
        self.rttP99 = rttP99
        self.snapshotsPerBotSecond = snapshotsPerBotSecond
    }

    /// The figures the HTML report charts.
    public var second: RunSecond {
        RunSecond(elapsedSeconds: elapsedSeconds, botsStarted: botsStarted, botsConnected: botsConnected,
                  packetsPerSecond: packetsPerSecond, lossPercent: lossPercent, rttP50: rttP50, rttP99: rttP99,
                  snapshotsPerBotSecond: snapshotsPerBotSecond)
    }

    public var line: String {
        String(format: "t=%5.1fs  bots %d/%d connected  %.0f pkt/s  loss %.2f%%  rtt p50 %.1f p99 %.1f ms  snapshots %.1f/s per bot",
               elapsedSeconds, botsConnected, botsStarted, packetsPerSecond, lossPercent, rttP50, rttP99, snapshotsPerBotSecond)
    }
}
