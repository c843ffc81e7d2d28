#ifndef TICKWIRE_CSODIUM_SHIM_H
#define TICKWIRE_CSODIUM_SHIM_H
#include <sodium.h>
#endif
