// dist2: train, sweep and report experiments with DIST²Loss.
#include <csignal>
#include <cstdio>
#include <string>

#include <c10/util/Exception.h>
#include <fmt/format.h>

#include "commands.h"
#include "dist2/util/allocator.h"
#include "dist2/util/blas_kernels.h"
#include "dist2/util/error.h"
#include "dist2/util/threads.h"

namespace {
// The first line of a message: errors are one line at the command line.
std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }
}  // namespace

int main(int argc, char** argv) {
  // A write past the file-size limit (ulimit -f) then fails with EFBIG and is
  // reported like a full disk, instead of killing the process mid-write.
  std::signal(SIGXFSZ, SIG_IGN);
  dist2::select_blas_kernels(argv);  // may start this process again with OPENBLAS_CORETYPE set (util/blas_kernels.h)
  dist2::tune_allocator();  // before the first step's allocations (util/allocator.h)
  CLI::App app{"dist2: train discrete autoregressive models with DIST²Loss, and run, store, sweep and report "
               "the experiments that test it."};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("dist2 ") + DIST2_VERSION);
  int threads = 1;
  app.add_option("--threads", threads,
                 "Threads for LibTorch and BLAS together (0 = all cores). Env: DIST2_THREADS")
      ->envname("DIST2_THREADS")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  // Parse errors as one line, like every other error.
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    return fmt::format("dist2: error: {} (see --help)\n", first_line(e.what()));
  });
  app.parse_complete_callback([&] { dist2::set_threads(threads); });

  using namespace dist2::cli;
  setup_prepare(app);
  setup_train(app);
  setup_eval(app);
  setup_sweep(app);
  setup_report(app);
  setup_runs(app);
  setup_target(app);
  setup_bench(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const NotBuiltYet& e) {
    fmt::print(stderr, "dist2: {}\n", e.what());
    return 2;
  } catch (const dist2::Error& e) {
    fmt::print(stderr, "dist2: error: {}\n", first_line(e.what()));
    return 1;
  } catch (const c10::Error& e) {
    fmt::print(stderr, "dist2: error: {}\n", first_line(e.what_without_backtrace()));
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "dist2: error: {}\n", first_line(e.what()));
    return 1;
  }
  return 0;
}
