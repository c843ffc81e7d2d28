/// Wrap-around arithmetic on 16-bit packet sequences and message ids.
///
/// `a` is newer than `b` when going forward from `b` reaches `a` in fewer than 32768 steps, so
/// 0 is newer than 65535 and comparisons stay right across the wrap. Exactly half a cycle apart
/// is "newer" in neither direction.
public enum SequenceNumber {
    @inlinable
    public static func isNewer(_ a: UInt16, than b: UInt16) -> Bool {
        let forward = a &- b
        return forward != 0 && forward < 0x8000
    }

    /// How many steps forward from `b` to `a` (0...65535).
    @inlinable
    public static func distance(from b: UInt16, to a: UInt16) -> Int { Int(a &- b) }
}
