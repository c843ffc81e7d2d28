/* The declarations of tickwire.h are implemented in Swift (Sources/TickwireC). */
