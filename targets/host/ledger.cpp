#include "targets/host/ledger.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>

namespace loopcheck::host {
namespace {

constexpr std::string_view kMagic = "loopcheck-ledger 1";

template <typename T>
bool parse_number(std::string_view s, T* out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

// Splits "word rest" at the first space.
std::pair<std::string_view, std::string_view> split_word(std::string_view line) {
  size_t sp = line.find(' ');
  if (sp == std::string_view::npos) return {line, {}};
  return {line.substr(0, sp), line.substr(sp + 1)};
}

}  // namespace

std::vector<uint64_t> LedgerRecord::still_created() const {
  std::vector<uint64_t> out;
  for (uint64_t index : created) {
    // A device may be created, removed and created again under one index:
    // count occurrences rather than test membership.
    auto made = std::count(created.begin(), created.end(), index);
    auto gone = std::count(removed.begin(), removed.end(), index);
    if (made > gone && std::find(out.begin(), out.end(), index) == out.end()) out.push_back(index);
  }
  return out;
}

bool parse_ledger(std::string_view text, LedgerRecord* out, std::string* why) {
  *out = LedgerRecord{};
  size_t line_no = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    if (nl == std::string_view::npos) break;  // a torn last line: its action never started
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl + 1);
    ++line_no;
    if (line_no == 1) {
      if (line != kMagic) {
        *why = "not a loopcheck ledger (bad first line)";
        return false;
      }
      continue;
    }
    auto [word, rest] = split_word(line);
    bool ok = true;
    uint64_t index = 0;
    if (word == "pid") {
      ok = parse_number(rest, &out->pid);
    } else if (word == "sandbox") {
      out->sandbox = std::string(rest);
    } else if (word == "add-intent") {
      int64_t arg = 0;
      ok = parse_number(rest, &arg);
      if (ok) out->add_intents.push_back(arg);
    } else if (word == "created" || word == "removed" || word == "handed") {
      ok = parse_number(rest, &index);
      auto& list = word == "created"   ? out->created
                   : word == "removed" ? out->removed
                                       : out->handed;
      if (ok) list.push_back(index);
    } else if (word == "bind") {
      auto [a, r1] = split_word(rest);
      auto [b, c] = split_word(r1);
      LedgerBinding binding;
      ok = parse_number(a, &binding.index) && parse_number(b, &binding.dev) &&
           parse_number(c, &binding.ino);
      if (ok) out->bindings.push_back(binding);
    } else {
      ok = false;
    }
    if (!ok) {
      *why = "line " + std::to_string(line_no) + ": cannot read '" + std::string(line) + "'";
      return false;
    }
  }
  if (line_no == 0) {
    *why = "empty ledger";
    return false;
  }
  return true;
}

int Ledger::create(const std::string& state_dir, const std::string& sandbox) {
  abandon();
  // Written under a temporary name and locked before it gets its final name,
  // so no recovery ever sees an unlocked ledger of a live run.
  std::string tmpl = state_dir + "/ledgers/run-" + std::to_string(::getpid()) + "-XXXXXX";
  int fd = ::mkostemp(tmpl.data(), O_CLOEXEC | O_APPEND);
  if (fd < 0) return errno;
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    ::unlink(tmpl.c_str());
    ::close(fd);
    return err;
  }
  fd_ = fd;
  path_ = tmpl + ".ledger";
  std::string header =
      std::string(kMagic) + "\npid " + std::to_string(::getpid()) + "\nsandbox " + sandbox + "\n";
  if (!append(header) || ::rename(tmpl.c_str(), path_.c_str()) != 0) {
    int err = errno ? errno : EIO;
    ::unlink(tmpl.c_str());
    ::close(fd_);
    fd_ = -1;
    path_.clear();
    return err;
  }
  return 0;
}

bool Ledger::append(const std::string& line) {
  if (fd_ < 0) return false;
  ssize_t n = ::write(fd_, line.data(), line.size());
  return n == static_cast<ssize_t>(line.size());
}

bool Ledger::note_add_intent(int64_t arg) {
  return append("add-intent " + std::to_string(arg) + "\n");
}
bool Ledger::note_created(uint64_t index) {
  return append("created " + std::to_string(index) + "\n");
}
bool Ledger::note_handed(uint64_t index) {
  return append("handed " + std::to_string(index) + "\n");
}
bool Ledger::note_removed(uint64_t index) {
  return append("removed " + std::to_string(index) + "\n");
}
bool Ledger::note_binding(uint64_t index, uint64_t dev, uint64_t ino) {
  return append("bind " + std::to_string(index) + " " + std::to_string(dev) + " " +
                std::to_string(ino) + "\n");
}

void Ledger::discard() {
  if (fd_ < 0) return;
  ::unlink(path_.c_str());  // while locked, so no recovery reads a half-gone ledger
  ::close(fd_);
  fd_ = -1;
  path_.clear();
}

void Ledger::abandon() {
  if (fd_ < 0) return;
  ::close(fd_);
  fd_ = -1;
  path_.clear();
}

}  // namespace loopcheck::host
