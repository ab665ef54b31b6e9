#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include "dist2/util/allocator.h"

// The suite trains small models: the same malloc setting as the dist2 executable.
static const std::string allocator_setting_of_tests = dist2::tune_allocator();
