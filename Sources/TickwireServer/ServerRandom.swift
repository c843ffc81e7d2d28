import TickwireCrypto

enum ServerRandom {
    static func bytes(_ count: Int) -> [UInt8] { SecureRandom.bytes(count) }
}
