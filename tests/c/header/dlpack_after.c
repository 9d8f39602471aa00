/* dlview.h first: the official dlpack.h included afterwards (here the
 * stand-in) is a no-op thanks to the shared include guard. */
#include "dlview.h"
#include <dlpack/dlpack.h>

#ifdef DLVIEW_TEST_STANDIN_DLPACK
#error "the stand-in dlpack/dlpack.h should have been skipped"
#endif

#include "uses.h"
