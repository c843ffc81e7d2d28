extension Array {
    /// Empties the array and keeps its buffer, leaving an empty array untouched: clearing still
    /// checks the buffer's uniqueness, a cache miss on a cold buffer, and the per-packet paths
    /// clear lists that are nearly always empty already.
    @inlinable
    package mutating func clearKeepingCapacity() {
        if !isEmpty { removeAll(keepingCapacity: true) }
    }
}
