// The one header an embedding program needs. Installed as <pyk/pyk.h>; the
// public headers include each other by sibling name ("store.h"), which works
// both in-tree (core/) and installed (PREFIX/include/pyk/).
#pragma once

#include "error.h"
#include "options.h"
#include "store.h"
#include "write_batch.h"
