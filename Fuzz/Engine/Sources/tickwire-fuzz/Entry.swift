import Foundation
import TickwireFuzzHarness

/// The target this process fuzzes, from `TICKWIRE_FUZZ_TARGET` (a `FuzzTarget` raw value).
let selected: FuzzTarget = {
    let name = ProcessInfo.processInfo.environment["TICKWIRE_FUZZ_TARGET"] ?? ""
    guard let target = FuzzTarget(rawValue: name) else {
        let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
        FileHandle.standardError.write(Data("tickwire-fuzz: set TICKWIRE_FUZZ_TARGET to one of: \(names) (got '\(name)')\n".utf8))
        exit(64)
    }
    return target
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    selected.run(UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size))
    return 0
}

@_silgen_name("LLVMFuzzerRunDriver")
func runDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

/// SwiftPM points an executable's `main` at `<module>_main`; with `-parse-as-library` there is
/// none, so this one hands the process to libFuzzer's driver (its own `main` is then unused).
@_cdecl("tickwire_fuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var vector = argv
    return runDriver(&count, &vector, fuzzOneInput)
}
