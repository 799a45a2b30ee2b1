// The one header an embedding program needs.
#pragma once

#include "core/error.h"
#include "core/options.h"
#include "core/store.h"
#include "core/write_batch.h"
