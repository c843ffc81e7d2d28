/// Why an incoming datagram was dropped. Every drop is counted under one of these; none crashes.
public enum NetcodeDropReason: Int, Error, CaseIterable, Sendable, CustomStringConvertible {
    case tooSmall
    case tooLarge
    case invalidPacketType
    case packetTypeNotAllowed
    case invalidSequenceBytes
    case versionMismatch
    case protocolMismatch
    case connectTokenExpired
    case connectTokenDecryptFailed
    case connectTokenInvalid
    case serverAddressNotInToken
    case clientAddressAlreadyConnected
    case clientIDAlreadyConnected
    case connectTokenReused
    case encryptionMappingFull
    case noEncryptionMapping
    case decryptFailed
    case replayed
    case invalidPlaintextSize
    case challengeTokenInvalid
    case unexpectedPacket
    case fromWrongAddress
    /// A connection request from an address past its decryption budget (`RequestBudget`).
    case requestRateLimited

    public var description: String {
        switch self {
        case .tooSmall: return "too_small"
        case .tooLarge: return "too_large"
        case .invalidPacketType: return "invalid_packet_type"
        case .packetTypeNotAllowed: return "packet_type_not_allowed"
        case .invalidSequenceBytes: return "invalid_sequence_bytes"
        case .versionMismatch: return "version_mismatch"
        case .protocolMismatch: return "protocol_mismatch"
        case .connectTokenExpired: return "connect_token_expired"
        case .connectTokenDecryptFailed: return "connect_token_decrypt_failed"
        case .connectTokenInvalid: return "connect_token_invalid"
        case .serverAddressNotInToken: return "server_address_not_in_token"
        case .clientAddressAlreadyConnected: return "client_address_already_connected"
        case .clientIDAlreadyConnected: return "client_id_already_connected"
        case .connectTokenReused: return "connect_token_reused"
        case .encryptionMappingFull: return "encryption_mapping_full"
        case .noEncryptionMapping: return "no_encryption_mapping"
        case .decryptFailed: return "decrypt_failed"
        case .replayed: return "replayed"
        case .invalidPlaintextSize: return "invalid_plaintext_size"
        case .challengeTokenInvalid: return "challenge_token_invalid"
        case .unexpectedPacket: return "unexpected_packet"
        case .fromWrongAddress: return "from_wrong_address"
        case .requestRateLimited: return "request_rate_limited"
        }
    }
}

/// Fixed-size drop counters, indexed by reason (no allocation on the receive path).
public struct DropCounters: Sendable, Equatable {
    private var counts: [UInt64] = Array(repeating: 0, count: NetcodeDropReason.allCases.count)

    public init() {}

    public subscript(reason: NetcodeDropReason) -> UInt64 {
        get { counts[reason.rawValue] }
        set { counts[reason.rawValue] = newValue }
    }

    public mutating func record(_ reason: NetcodeDropReason) { counts[reason.rawValue] &+= 1 }

    public var total: UInt64 { counts.reduce(0, &+) }

    /// Non-zero counters, for logs and reports.
    public var nonZero: [(NetcodeDropReason, UInt64)] {
        NetcodeDropReason.allCases.compactMap { counts[$0.rawValue] > 0 ? ($0, counts[$0.rawValue]) : nil }
    }
}
