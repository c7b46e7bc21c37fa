// A run's ledger: an append-only text file in STATE_DIR/ledgers/ naming every
// loop device the run created, was handed, or bound, written BEFORE the kernel
// is asked to do it. If the run is killed, the next run reads the ledger and
// undoes exactly what it can prove is the dead run's own (recovery.h).
//
//   loopcheck-ledger 1
//   pid 4242
//   sandbox /var/tmp/loopcheck-Ab12Cd
//   add-intent -1          about to LOOP_CTL_ADD(-1)
//   created 17             LOOP_CTL_ADD returned 17
//   handed 3               LOOP_CTL_GET_FREE returned 3 and the run claimed it
//   bind 17 2049 393231    about to bind 17 to a file with st_dev 2049, st_ino 393231
//   removed 17             LOOP_CTL_REMOVE(17) succeeded
//
// Each line is one write(2) with O_APPEND, so a killed writer leaves whole lines.
// Liveness is a flock the writer holds on the file for its whole life: the
// kernel releases it when the process dies, which, unlike a pid, cannot be
// fooled by pid reuse. The pid is kept for humans.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace loopcheck::host {

struct LedgerBinding {
  uint64_t index = 0;
  uint64_t dev = 0;  // st_dev of the backing file
  uint64_t ino = 0;  // st_ino of the backing file
};

struct LedgerRecord {
  int64_t pid = 0;
  std::string sandbox;
  std::vector<int64_t> add_intents;
  std::vector<uint64_t> created, removed, handed;
  std::vector<LedgerBinding> bindings;

  // Devices created and not (yet) recorded as removed.
  std::vector<uint64_t> still_created() const;
};

// Parses a ledger. Ignores a torn last line; false (with `why`) if the header
// is not a ledger's.
bool parse_ledger(std::string_view text, LedgerRecord* out, std::string* why);

class Ledger {
 public:
  Ledger() = default;
  ~Ledger() { abandon(); }
  Ledger(const Ledger&) = delete;
  Ledger& operator=(const Ledger&) = delete;

  // Creates and locks a new ledger for this process. Returns 0 or an errno.
  int create(const std::string& state_dir, const std::string& sandbox);
  bool is_open() const { return fd_ >= 0; }
  const std::string& path() const { return path_; }

  // Each returns false if the line could not be written; the caller must then
  // not perform the action (it could not be recovered).
  bool note_add_intent(int64_t arg);
  bool note_created(uint64_t index);
  bool note_handed(uint64_t index);
  bool note_binding(uint64_t index, uint64_t dev, uint64_t ino);
  bool note_removed(uint64_t index);

  // The run left nothing behind: delete the ledger.
  void discard();
  // The run could not clean everything: release the lock and keep the file, so
  // the next run's recovery finishes the job.
  void abandon();

 private:
  bool append(const std::string& line);
  int fd_ = -1;
  std::string path_;
};

}  // namespace loopcheck::host
