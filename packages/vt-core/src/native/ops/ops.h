// The C++ op functions of vt-core, one header per family. Each function goes through the
// dispatcher (a cached typed handle), so layers such as autograd see every call.
#pragma once

#include "ops/copy.h"
#include "ops/factory.h"
#include "ops/index.h"
#include "ops/linalg.h"
#include "ops/nn.h"
#include "ops/optim.h"
#include "ops/pointwise.h"
#include "ops/random.h"
#include "ops/reduce.h"
#include "ops/shape.h"
#include "ops/view.h"
