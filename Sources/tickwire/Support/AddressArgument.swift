import ArgumentParser

extension ValidationError {
    static func address(_ flag: String, _ text: String) -> ValidationError {
        ValidationError("\(flag) '\(text)' is not an address: write 1.2.3.4:40000 or [::1]:40000")
    }
}

/// A runtime failure (unreadable key file, port in use): printed as "Error: …" without the usage text.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
