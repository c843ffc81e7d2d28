/// Constants of the netcode 1.02 standard, as the reference implementation defines them.
public enum Netcode {
    /// `NETCODE 1.02` followed by a NUL byte.
    public static let versionInfo: [UInt8] = Array("NETCODE 1.02".utf8) + [0]
    public static let versionInfoBytes = 13
    public static let connectTokenBytes = 2048
    public static let connectTokenPrivateBytes = 1024
    public static let challengeTokenBytes = 300
    public static let userDataBytes = 256
    public static let keyBytes = 32
    public static let macBytes = 16
    public static let connectTokenNonceBytes = 24
    public static let maxServersPerConnect = 32
    public static let maxPayloadBytes = 1200
    /// Receive buffer size: the largest valid packet is 1 + 8 + 1200 + 16 = 1225 bytes.
    public static let maxPacketBytes = 1300
    public static let connectionRequestBytes = 1078
    public static let replayWindowSize = 256
    public static let packetSendInterval: Duration = .milliseconds(100)
    static let packetSendIntervalNanoseconds = packetSendInterval.nonNegativeNanoseconds
    public static let disconnectPacketCount = 10
    public static let serverGlobalSequenceStart: UInt64 = 1 << 63
    /// The reference implementation's compile-time limit; Tickwire allows more (see `NetcodeServerConfiguration`).
    public static let referenceMaxClients = 256
}

/// netcode packet types (the low nibble of the prefix byte).
public enum NetcodePacketType: UInt8, Sendable, CaseIterable {
    case connectionRequest = 0
    case connectionDenied = 1
    case connectionChallenge = 2
    case connectionResponse = 3
    case keepAlive = 4
    case payload = 5
    case disconnect = 6
}
