import CSodium

/// One-time libsodium initialisation. `sodium_init` is idempotent and thread-safe; every entry point
/// of this module calls `Sodium.ensureInitialised()` first.
enum Sodium {
    static let initialised: Bool = {
        sodium_init() >= 0
    }()

    @inline(__always)
    static func ensureInitialised() {
        precondition(initialised, "libsodium failed to initialise")
    }
}
