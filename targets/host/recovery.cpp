#include "targets/host/recovery.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "targets/host/device_cleanup.h"
#include "targets/host/ledger.h"
#include "targets/host/loop_sys.h"
#include "targets/sandbox_dir.h"
#include "targets/host/state_dir.h"

namespace loopcheck::host {
namespace {

constexpr int kTeardownTimeoutMs = 5000;
constexpr int kRemoveTimeoutMs = 2000;
constexpr std::string_view kLedgerSuffix = ".ledger";

std::string err_text(int err) {
  return std::strerror(err);
}

// Removes the devices a dead run created, unless they are in use now (then
// they are someone else's: not ours to wait for).
void remove_created_devices(const LedgerRecord& rec, DeviceLocks& locks, const std::string& who,
                            RecoveryReport& report) {
  for (uint64_t index : rec.still_created()) {
    if (!loop_device_exists(index)) continue;
    if (loop_device_bound(index) || !locks.try_lock(index)) {
      report.problems.push_back(who + ": loop" + std::to_string(index) +
                                " it created is in use; left alone");
      continue;
    }
    int err = remove_loop_device(index, kRemoveTimeoutMs);
    if (err == 0 || err == ENODEV) {
      report.actions.push_back(who + ": removed loop" + std::to_string(index));
    } else {
      report.problems.push_back(who + ": LOOP_CTL_REMOVE " + std::to_string(index) + ": " +
                                err_text(err));
    }
  }
}

// Undoes one dead run. Returns true when nothing of it is left.
bool recover_one(const LedgerRecord& rec, const std::string& sandbox_parent, DeviceLocks& locks,
                 RecoveryReport& report) {
  const std::string who = "run pid " + std::to_string(rec.pid);
  bool clean = true;
  std::vector<uint64_t> devices = rec.still_created();
  devices.insert(devices.end(), rec.handed.begin(), rec.handed.end());
  const bool sandbox_ok = looks_like_sandbox_dir(rec.sandbox, sandbox_parent);

  // Detach, newest binding first so stacked upper devices go before their lower ones.
  std::vector<uint64_t> detached;
  for (auto it = rec.bindings.rbegin(); it != rec.bindings.rend(); ++it) {
    const LedgerBinding& b = *it;
    if (std::find(detached.begin(), detached.end(), b.index) != detached.end()) continue;
    if (!sandbox_ok || binding_owner(b.index, rec.sandbox, devices) != BindingOwner::Ours) continue;
    if (!locks.try_lock(b.index)) {
      report.problems.push_back(who + ": loop" + std::to_string(b.index) +
                                " is locked by a live run");
      clean = false;
      continue;
    }
    int err = detach_loop_device(b.index, true, b.dev, b.ino);
    if (err == ESTALE) continue;  // a later binding of the same device may match
    if (err == 0 || err == ENXIO) {
      detached.push_back(b.index);
      report.actions.push_back(who + ": detached loop" + std::to_string(b.index));
    } else {
      report.problems.push_back(who + ": LOOP_CLR_FD on loop" + std::to_string(b.index) + ": " +
                                err_text(err));
      clean = false;
    }
  }
  for (uint64_t index : detached) {
    if (!wait_until_unbound(index, kTeardownTimeoutMs)) {
      report.problems.push_back(who + ": loop" + std::to_string(index) +
                                " still bound after detach");
      clean = false;
    }
  }
  // Anything still bound into the dead sandbox keeps the sandbox alive too.
  for (uint64_t index : devices) {
    if (sandbox_ok && binding_owner(index, rec.sandbox, devices) == BindingOwner::Ours) {
      report.problems.push_back(who + ": loop" + std::to_string(index) +
                                " is still bound to its sandbox");
      clean = false;
    }
  }

  remove_created_devices(rec, locks, who, report);
  locks.release_all();

  if (clean && sandbox_ok) {
    if (int err = remove_sandbox_dir(rec.sandbox)) {
      report.problems.push_back(who + ": removing " + rec.sandbox + ": " + err_text(err));
      clean = false;
    } else {
      report.actions.push_back(who + ": removed " + rec.sandbox);
    }
  } else if (!sandbox_ok && !rec.sandbox.empty()) {
    report.problems.push_back(who + ": sandbox '" + rec.sandbox +
                              "' is not a loopcheck sandbox; not removed");
  }
  return clean;
}

}  // namespace

RecoveryReport recover_dead_runs(const std::string& state_dir, const std::string& sandbox_parent) {
  RecoveryReport report;
  std::string dir_path = state_dir + "/ledgers";
  DIR* dir = ::opendir(dir_path.c_str());
  if (!dir) return report;
  std::vector<std::string> names;
  while (struct dirent* e = ::readdir(dir)) {
    std::string_view name = e->d_name;
    if (name.ends_with(kLedgerSuffix)) names.emplace_back(name);
  }
  ::closedir(dir);
  std::sort(names.begin(), names.end());  // a stable order, for stable logs

  DeviceLocks locks(state_dir);
  for (const std::string& name : names) {
    std::string path = dir_path + "/" + name;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    // Holding the ledger's lock both proves its writer is dead and keeps a
    // second recovering run away from the same ledger.
    struct stat locked, current;
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0 || ::fstat(fd, &locked) != 0 ||
        ::stat(path.c_str(), &current) != 0 || locked.st_ino != current.st_ino) {
      ::close(fd);
      continue;
    }
    ++report.dead_ledgers;
    std::string text;
    read_small_file(path, &text, 1 << 20);
    LedgerRecord rec;
    std::string why;
    if (!parse_ledger(text, &rec, &why)) {
      report.problems.push_back(path + ": " + why + "; left in place for a human");
      ::close(fd);
      continue;
    }
    if (recover_one(rec, sandbox_parent, locks, report)) {
      ::unlink(path.c_str());
      ++report.cleaned_ledgers;
    }
    ::close(fd);
  }
  return report;
}

}  // namespace loopcheck::host
