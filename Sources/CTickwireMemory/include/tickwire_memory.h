#ifndef TICKWIRE_MEMORY_H
#define TICKWIRE_MEMORY_H

#include <stddef.h>
#include <stdint.h>

// Software prefetch for loops that walk many clients' state: each client's state sits in
// allocations of its own (cold in cache at hundreds of clients), and a loop that visits them one
// after another can ask for the next one's lines while it works on this one. Static inline, so
// Swift code inlines them: a hint, never a fault (a prefetch of any address is harmless).

// `lines` counts 64-byte lines' worth of bytes from `address`, which need not start a line: the
// lines fetched are every line those bytes touch (one more than `lines` when `address` is not
// line-aligned, as malloc's 16-byte-aligned objects and most array elements are not).

/// Asks for the cache lines holding `lines` × 64 bytes from `address`, for reading (no-op for a null address).
static inline void tickwire_prefetch(const void *address, size_t lines) {
    if (address == NULL || lines == 0) return;
    uintptr_t first = (uintptr_t)address & ~(uintptr_t)63;
    uintptr_t last = ((uintptr_t)address + lines * 64 - 1) & ~(uintptr_t)63;
    for (uintptr_t line = first; line <= last; line += 64) __builtin_prefetch((const void *)line, 0, 3);
}

/// Asks for the cache lines holding `lines` × 64 bytes from `address`, for writing.
static inline void tickwire_prefetch_write(const void *address, size_t lines) {
    if (address == NULL || lines == 0) return;
    uintptr_t first = (uintptr_t)address & ~(uintptr_t)63;
    uintptr_t last = ((uintptr_t)address + lines * 64 - 1) & ~(uintptr_t)63;
    for (uintptr_t line = first; line <= last; line += 64) __builtin_prefetch((const void *)line, 1, 3);
}

// Swift arrays: a variable of array type holds one reference to heap storage whose elements
// start after a 32-byte header (the 64-bit runtime's object header, count and capacity). These
// read that reference as bits, so they neither retain the storage nor touch its header. If the
// layout ever differed, the hints would fetch the wrong lines: slower, never wrong.

/// Prefetches the header and `lines` lines from `offset` bytes into the elements of the Swift
/// array whose variable is at `array`.
static inline void tickwire_prefetch_array_elements(const void *array, size_t offset, size_t lines) {
    const char *storage = *(const char *const *)array;
    if (storage == NULL) return;
    __builtin_prefetch(storage, 1, 3);
    tickwire_prefetch_write(storage + 32 + offset, lines);
}

/// Prefetches `lines` lines of the object referenced by the element at `offset` bytes into the
/// elements of the Swift array (of class references, or optional ones) whose variable is at
/// `array`. The element itself is read: it should be in cache (the array is walked in order).
static inline void tickwire_prefetch_referenced_object(const void *array, size_t offset, size_t lines) {
    const char *storage = *(const char *const *)array;
    if (storage == NULL) return;
    const void *object = *(const void *const *)(storage + 32 + offset);
    tickwire_prefetch_write(object, lines);
}

#endif
