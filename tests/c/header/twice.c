/* dlview.h included twice is harmless. */
#include "dlview.h"
#include "dlview.h"

#include "uses.h"
