// Vigil's window onto the system libzstd (Debian: libzstd-dev).
#ifndef VIGIL_CZSTD_SHIM_H
#define VIGIL_CZSTD_SHIM_H
#include <zstd.h>
#include <zstd_errors.h>
#endif
