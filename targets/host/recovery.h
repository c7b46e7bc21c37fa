// Cleaning up after loopcheck runs that were killed before their finish():
// for every ledger whose writer is dead (its flock is free), undo exactly what
// the ledger proves was that run's own, then delete the ledger.
//
// Proof required before each action:
//   detach   the device's backing file is inside the dead run's sandbox dir
//            (or is one of its loop devices) AND has the st_dev/st_ino the
//            ledger recorded before the bind (checked with GET_STATUS64 on the
//            same fd that then issues LOOP_CLR_FD)
//   remove   the ledger says LOOP_CTL_ADD returned this index (an add-intent
//            alone proves nothing: the ADD may have failed with EEXIST), the
//            device is unbound, no live loopcheck run holds its lock, and the
//            kernel agrees (LOOP_CTL_REMOVE refuses open or bound devices)
//   rm -rf   the directory has the shape of a sandbox under the sandbox parent
// Devices the dead run was handed by LOOP_CTL_GET_FREE are only detached, never
// removed: they may be the system's precreated devices.
#pragma once

#include <string>
#include <vector>

namespace loopcheck::host {

struct RecoveryReport {
  int dead_ledgers = 0;               // ledgers of dead runs found
  int cleaned_ledgers = 0;            // of those, fully cleaned and deleted
  std::vector<std::string> actions;   // what was undone, for logs
  std::vector<std::string> problems;  // what could not be undone and why
};

RecoveryReport recover_dead_runs(const std::string& state_dir, const std::string& sandbox_parent);

}  // namespace loopcheck::host
