#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "dist2/util/allocator.h"
#include "dist2/util/blas_kernels.h"

// The suite trains small models: the same malloc setting as the dist2 executable.
static const std::string allocator_setting_of_tests = dist2::tune_allocator();

// And the same BLAS kernels (util/blas_kernels.h): this may start the suite again.
int main(int argc, char** argv) {
  dist2::select_blas_kernels(argv);
  return Catch::Session().run(argc, argv);
}
