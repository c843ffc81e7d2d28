import Foundation

/// A progress line rewritten in place while a long command runs, on a terminal only: piped or
/// redirected output gets the results, not the progress.
final class TerminalProgress: @unchecked Sendable {
    /// Whether standard output is a terminal.
    let enabled: Bool
    private let lock = NSLock()
    // Guarded by `lock`.
    private var showing = false

    init(enabled: Bool = isatty(STDOUT_FILENO) == 1) { self.enabled = enabled }

    /// Replaces the line shown (nothing when not on a terminal).
    func show(_ line: String) {
        guard enabled else { return }
        lock.lock()
        defer { lock.unlock() }
        FileHandle.standardOutput.write(Data(("\r\u{1B}[2K" + line).utf8))
        showing = true
    }

    /// Ends the line, so what follows starts on its own.
    func finish() {
        lock.lock()
        defer { lock.unlock() }
        if showing { FileHandle.standardOutput.write(Data("\n".utf8)) }
        showing = false
    }
}
