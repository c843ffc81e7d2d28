// CTickwireMemory is header-only (static inline prefetch hints, include/tickwire_memory.h);
// SwiftPM wants a source file for a C target.
#include "tickwire_memory.h"
