#pragma once
// SIGINT and SIGTERM ask long work to stop at the next safe point (the trainer
// checks between steps, then checkpoints and records the run as interrupted).
namespace dist2 {

void install_stop_handlers();
bool stop_requested();
int stop_signal();  // the signal that asked, 0 if none

}  // namespace dist2
