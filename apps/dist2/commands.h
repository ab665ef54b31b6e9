#pragma once
// One setup_<name> per subcommand, each in its own file: it binds the options
// and sets a callback that calls the library. main.cpp only calls these.
#include <stdexcept>
#include <string>

#include <CLI/CLI.hpp>

namespace dist2::cli {

// Thrown by a subcommand that is not built yet; main exits with status 2.
struct NotBuiltYet : std::runtime_error {
  explicit NotBuiltYet(const std::string& what) : std::runtime_error(what) {}
};

void setup_prepare(CLI::App& app);
void setup_train(CLI::App& app);
void setup_eval(CLI::App& app);
void setup_sweep(CLI::App& app);
void setup_report(CLI::App& app);
void setup_runs(CLI::App& app);
void setup_target(CLI::App& app);
void setup_bench(CLI::App& app);

}  // namespace dist2::cli
