import CSodium

/// Cryptographically secure randomness from libsodium (`randombytes_buf`).
///
/// The sans-IO core never calls this on its own: keys and nonces are inputs to it. Only token
/// minting and server start-up (the challenge key) draw from here, so simulations can substitute
/// seeded values.
public enum SecureRandom {
    public static func bytes(_ count: Int) -> [UInt8] {
        Sodium.ensureInitialised()
        var out = [UInt8](repeating: 0, count: count)
        out.withUnsafeMutableBytes { randombytes_buf($0.baseAddress!, $0.count) }
        return out
    }

    public static func uint64() -> UInt64 {
        Sodium.ensureInitialised()
        var value: UInt64 = 0
        withUnsafeMutableBytes(of: &value) { randombytes_buf($0.baseAddress!, $0.count) }
        return value
    }
}
