/* The official dlpack.h first (here the stand-in): dlview.h uses its types
 * and skips its own copy. */
#include <dlpack/dlpack.h>
#include "dlview.h"

#ifndef DLVIEW_TEST_STANDIN_DLPACK
#error "expected the DLPack types of the stand-in dlpack/dlpack.h"
#endif

#include "uses.h"
