/// What a netcode server needs to know. Invalid values are rejected by `validate()` with a message
/// that says how to fix them.
public struct NetcodeServerConfiguration: Sendable {
    public var protocolID: UInt64
    /// The 32-byte key shared with the backend that mints connect tokens.
    public var privateKey: [UInt8]
    /// Client slots. netcode's reference build has 256; Tickwire allows up to 4096.
    public var maxClients: Int
    /// The server's own addresses: a connection request is accepted only if its token's private
    /// address list contains one of them (netcode "server address must be in the token").
    public var serverAddresses: [NetcodeAddress]
    /// Key for challenge tokens; random per server start (pass a fixed one for simulations).
    public var challengeKey: [UInt8]
    /// Connection requests one source address (an IPv6 /64) may have decrypted per second, after
    /// a burst of `requestBurstPerAddress`; past it they are dropped as `request_rate_limited`
    /// before any decryption. A client sends 10 a second while it connects, and many players can
    /// share one address (carrier-grade NAT, a LAN, a load test), so the default is generous:
    /// it bounds one address to about 0.2% of a core's decryption time.
    public var requestsPerSecondPerAddress = Self.defaultRequestsPerSecondPerAddress
    public var requestBurstPerAddress = Self.defaultRequestBurstPerAddress
    public static let defaultRequestsPerSecondPerAddress = 1000.0
    public static let defaultRequestBurstPerAddress = 2000.0

    public static let maxClientsLimit = 4096

    public init(
        protocolID: UInt64, privateKey: [UInt8], maxClients: Int = Netcode.referenceMaxClients,
        serverAddresses: [NetcodeAddress], challengeKey: [UInt8]
    ) {
        self.protocolID = protocolID
        self.privateKey = privateKey
        self.maxClients = maxClients
        self.serverAddresses = serverAddresses
        self.challengeKey = challengeKey
    }

    public func validate() throws(NetcodeConfigurationError) {
        guard privateKey.count == Netcode.keyBytes else { throw .privateKeyLength(privateKey.count) }
        guard challengeKey.count == Netcode.keyBytes else { throw .challengeKeyLength(challengeKey.count) }
        guard (1...Self.maxClientsLimit).contains(maxClients) else { throw .maxClients(maxClients) }
        guard !serverAddresses.isEmpty else { throw .noServerAddress }
        if let wildcard = serverAddresses.first(where: \.isUnspecified) { throw .unspecifiedServerAddress(wildcard) }
        guard requestsPerSecondPerAddress > 0, requestBurstPerAddress >= 1 else {
            throw .requestBudget(perSecond: requestsPerSecondPerAddress, burst: requestBurstPerAddress)
        }
    }
}

public enum NetcodeConfigurationError: Error, Equatable, Sendable, CustomStringConvertible {
    case privateKeyLength(Int)
    case challengeKeyLength(Int)
    case maxClients(Int)
    case noServerAddress
    case unspecifiedServerAddress(NetcodeAddress)
    case requestBudget(perSecond: Double, burst: Double)

    public var description: String {
        switch self {
        case .privateKeyLength(let n):
            return "the private key must be 32 bytes (64 hex characters), got \(n) bytes; make one with `tickwire keygen`"
        case .challengeKeyLength(let n): return "the challenge key must be 32 bytes, got \(n)"
        case .maxClients(let n):
            return "max clients must be between 1 and \(NetcodeServerConfiguration.maxClientsLimit), got \(n)"
        case .noServerAddress: return "the server needs at least one address that tokens name"
        case .unspecifiedServerAddress(let a):
            return "\(a) cannot be a token address: tokens name the address clients reach, e.g. 127.0.0.1:\(a.port); set it with --public-address"
        case .requestBudget(let perSecond, let burst):
            return "the per-address request budget must be > 0 a second with a burst of at least 1, got \(perSecond)/s burst \(burst)"
        }
    }
}
