/* dlview.h on its own: it brings its own DLPack types. */
#include "dlview.h"

#ifndef DLPACK_DLPACK_H_
#error "dlview.h should define the DLPack types under the shared guard"
#endif

#include "uses.h"
