import ArgumentParser
import TickwireCrypto

struct KeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Print a new random 32-byte private key as hex (share it with your token backend).")

    func run() throws {
        print(Hex.encode(SecureRandom.bytes(32)))
    }
}
