#pragma once
// A fixture for tests/check_layers.cmake: core/ including actors/ must fail.
#include "actors/worker.hpp"
