import ArgumentParser

extension ValidationError {
    static func address(_ flag: String, _ text: String) -> ValidationError {
        ValidationError("\(flag) '\(text)' is not an address: write 1.2.3.4:40000 or [::1]:40000")
    }
}
