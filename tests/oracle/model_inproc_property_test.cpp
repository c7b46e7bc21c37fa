// A RapidCheck state-machine test (rc::state) of the in-process driver against
// the model: random command sequences run in lockstep on both; RapidCheck shrinks
// a failing sequence to a minimal one, which is printed as a trace.
//
// Runs at least 1,000 sequences per profile (RC_PARAMS is set by tests/CMakeLists.txt
// with a fixed seed, so CI runs are reproducible; change the seed to explore).
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/state.h>

#include <algorithm>
#include <memory>
#include <sstream>
#include <vector>

#include "targets/inproc/inproc_target.h"
#include "oracle/lockstep.h"
#include "model/profile.h"
#include "trace/names.h"
#include "trace/ops.h"
#include "trace/print.h"

namespace loopcheck {
namespace {

// What the generator knows: which variable slots hold what. Values are in the
// lockstep's hands; the generator only needs names to refer to.
struct GenModel {
  std::vector<uint8_t> ctl_fds, indices, dev_fds, file_fds;
  uint8_t next_slot = 0;
};

// The system under test: model and driver in lockstep, plus the trace so far
// (for printing a minimal failing sequence).
struct Sut {
  Sut(const model::Profile& p, const Trace& t) : profile(p), trace(t) {
    TargetError err = target.start(trace, profile.name, trace.env);
    if (err.failed) throw std::runtime_error(err.message);
    lockstep = std::make_unique<Lockstep>(profile, trace.env, trace.objects, &target);
  }
  ~Sut() { target.finish(); }
  const model::Profile& profile;
  Trace trace;
  inproc::InprocTarget target;
  std::unique_ptr<Lockstep> lockstep;
};

Trace base_trace() {
  Trace t;
  t.objects.push_back(ObjectDecl{ObjectDecl::Kind::File, "img", 64 << 10, 0, {}});
  t.objects.push_back(ObjectDecl{ObjectDecl::Kind::File, "small", 1000, 0xcd, {}});
  t.objects.push_back(ObjectDecl{ObjectDecl::Kind::Dir, "d", 0, 0, {}});
  for (int i = 0; i < kMaxVars; ++i) t.vars.push_back("v" + std::to_string(i));
  return t;
}

// The model tracks 16 devices (8 precreated); more LOOP_CTL_ADDs would test the
// model's bound, not the kernel's behaviour.
constexpr size_t kMaxIndexVars = 6;

struct StepCmd : rc::state::Command<GenModel, Sut> {
  Statement stmt;
  enum class Binds : uint8_t { None, Ctl, Index, DevFd, FileFd } binds = Binds::None;
  // Variables this statement reads and what they must hold; shrinking may drop
  // the statement that bound one, and then this command no longer applies.
  std::vector<std::pair<uint8_t, Binds>> uses;

  static const std::vector<uint8_t>& slots_of(const GenModel& m, Binds kind) {
    switch (kind) {
      case Binds::Ctl:
        return m.ctl_fds;
      case Binds::Index:
        return m.indices;
      case Binds::DevFd:
        return m.dev_fds;
      default:
        return m.file_fds;
    }
  }

  explicit StepCmd(const GenModel& m) {
    const bool have_ctl = !m.ctl_fds.empty(), have_idx = !m.indices.empty(),
               have_dev = !m.dev_fds.empty(), have_file = !m.file_fds.empty();
    int choice = *rc::gen::inRange(0, 25);
    Value dev = have_dev ? pick_var(m, m.dev_fds) : Value::signed_literal(-1);
    if (!have_ctl || choice == 0) {
      stmt.op = op_open_loop_control(Access::Rw);
      binds = Binds::Ctl;
    } else if (!have_idx || (choice == 1 && m.indices.size() < kMaxIndexVars)) {
      bool add = *rc::gen::arbitrary<bool>();
      stmt.op = add ? op_ioctl(pick_var(m, m.ctl_fds), Req::LoopCtlAdd, Value::signed_literal(-1))
                    : op_ioctl_noarg(pick_var(m, m.ctl_fds), Req::LoopCtlGetFree);
      binds = Binds::Index;
    } else if (!have_dev || choice == 2) {
      Access a = *rc::gen::elementOf(std::vector<Access>{Access::Rw, Access::Rw, Access::Ro});
      uint8_t flags = *rc::gen::elementOf(std::vector<uint8_t>{0, 0, 0, kOpenExcl, kOpenDirect,
                                                               kOpenSync, kOpenDirect | kOpenSync});
      stmt.op = op_open_loop(pick_var(m, m.indices), a, flags);
      binds = Binds::DevFd;
    } else if (!have_file || choice == 3) {
      Access a = *rc::gen::elementOf(std::vector<Access>{Access::Rw, Access::Ro, Access::Wo});
      uint8_t flags = *rc::gen::elementOf(
          std::vector<uint8_t>{0, 0, 0, kOpenDirect, kOpenSync, kOpenDirect | kOpenSync});
      stmt.op = op_open_file(*rc::gen::elementOf(std::vector<uint8_t>{0, 0, 1}), a, flags);
      binds = Binds::FileFd;
    } else {
      stmt.op = device_op(m, choice, dev);
    }
    if (binds != Binds::None) stmt.bind = static_cast<int16_t>(m.next_slot);
  }

  // A variable of `slots` (one of m's lists), recorded as one this statement uses.
  Value pick_var(const GenModel& m, const std::vector<uint8_t>& slots) {
    uint8_t slot = *rc::gen::elementOf(slots);
    Binds kind = &slots == &m.ctl_fds   ? Binds::Ctl
                 : &slots == &m.indices ? Binds::Index
                 : &slots == &m.dev_fds ? Binds::DevFd
                                        : Binds::FileFd;
    uses.emplace_back(slot, kind);
    return Value::variable(slot);
  }

  // Mostly a file, sometimes a loop device (stacking), sometimes a bad fd.
  Value pick_backing(const GenModel& m) {
    int r = *rc::gen::inRange(0, 10);
    if (r < 7 && !m.file_fds.empty()) return pick_var(m, m.file_fds);
    if (r < 9 && !m.dev_fds.empty()) return pick_var(m, m.dev_fds);
    return Value::signed_literal(-1);
  }

  static Op set_status_op(Value dev) {
    StructFields f;
    f.set(Field::Offset, Value::literal(*rc::gen::elementOf(
                             std::vector<uint64_t>{0, 1, 512, 4096, 1u << 20, 1ull << 63})));
    f.set(Field::Sizelimit,
          Value::literal(*rc::gen::elementOf(std::vector<uint64_t>{0, 511, 4096, 60000})));
    f.set(Field::Flags, Value::literal(*rc::gen::elementOf(
                            std::vector<uint64_t>{0, kLoAutoclear, kLoPartscan, kLoReadOnly})));
    return op_ioctl_struct(dev, Req::LoopSetStatus64, f);
  }

  Op configure_op(const GenModel& m, Value dev) {
    StructFields f;
    f.set(Field::Fd, pick_backing(m));
    f.set(Field::BlockSize,
          Value::literal(*rc::gen::elementOf(std::vector<uint64_t>{0, 512, 1000, 4096})));
    f.set(Field::Flags, Value::literal(*rc::gen::elementOf(
                            std::vector<uint64_t>{0, kLoReadOnly, kLoAutoclear, kLoDirectIo, 2})));
    return op_ioctl_struct(dev, Req::LoopConfigure, f);
  }

  // Choices 4 and up: an operation on an open device fd `dev`, binding nothing.
  Op device_op(const GenModel& m, int choice, Value dev) {
    switch (choice) {
      case 4:
        return op_ioctl(dev, Req::LoopSetFd, pick_backing(m));
      case 5:
        return op_ioctl_noarg(dev, Req::LoopClrFd);
      case 6:
        return set_status_op(dev);
      case 7:
        return op_ioctl_noarg(dev, Req::LoopGetStatus64);
      case 8:
        return configure_op(m, dev);
      case 9:
        return op_ioctl(dev, Req::LoopChangeFd, pick_backing(m));
      case 10:
        return op_ioctl_noarg(dev, Req::LoopSetCapacity);
      case 11:
        return op_ioctl(dev, Req::LoopSetBlockSize,
                        Value::literal(*rc::gen::elementOf(std::vector<uint64_t>{
                            0, 512, 1024, 4096, 1234, 8192, 16384, 32768, 65536, 131072})));
      case 12:
        return op_ioctl(dev, Req::LoopSetDirectIo, Value::literal(*rc::gen::inRange(0, 2)));
      case 13:
        return op_ioctl_noarg(
            dev, *rc::gen::elementOf(std::vector<Req>{Req::BlkGetSize64, Req::BlkSszGet,
                                                      Req::BlkRoGet, Req::BlkFlsBuf}));
      case 14:
        return op_pwrite(dev, io_offset(), io_length(), *rc::gen::inRange<uint32_t>(0, 8));
      case 15:
        return op_pread(dev, io_offset(), io_length());
      case 16:
        return op_fsync(dev);
      case 17:
        return op_close(dev);
      case 18:
        return op_sysfs(pick_var(m, m.indices),
                        static_cast<SysAttr>(*rc::gen::inRange(0, kSysAttrCount)));
      case 19:
        return op_ioctl(pick_var(m, m.ctl_fds), Req::LoopCtlRemove, pick_var(m, m.indices));
      default:
        return file_op(m, choice);
    }
  }

  // Block-, page-, sector-aligned and unaligned offsets inside and at the end
  // of the 64 KiB image, and lengths from one byte to several large blocks.
  static int64_t io_offset() {
    return *rc::gen::elementOf(
        std::vector<int64_t>{0, 512, 4096, 8192, 65536, 61440, 1000, 4095, 32768 + 100});
  }
  static uint64_t io_length() {
    return *rc::gen::elementOf(std::vector<uint64_t>{1, 512, 4096, 8192, 65536, 100, 3000});
  }

  // Choices 20 and up: the backing files beside the devices: truncation (shrink,
  // extend, ragged sizes), writes and reads through a file fd, fsync.
  Op file_op(const GenModel& m, int choice) {
    switch (choice) {
      case 20:
        return op_truncate(*rc::gen::elementOf(std::vector<uint8_t>{0, 0, 1}),
                           *rc::gen::elementOf(std::vector<uint64_t>{
                               0, 1000, 4096, 32768, 32768 + 100, 65536, 131072, 200000}));
      case 21:
      case 22:
        return op_pwrite(pick_var(m, m.file_fds), io_offset(), io_length(),
                         *rc::gen::inRange<uint32_t>(0, 8));
      case 23:
        return op_pread(pick_var(m, m.file_fds), io_offset(), io_length());
      default:
        return op_fsync(pick_var(m, m.file_fds));
    }
  }

  void checkPreconditions(const GenModel& m) const override {
    // While shrinking, a command may lose the statement that bound its variable.
    RC_PRE(binds == Binds::None || m.next_slot < kMaxVars - 1);
    RC_PRE(binds == Binds::None || stmt.bind == m.next_slot);
    for (auto [slot, kind] : uses) {
      const std::vector<uint8_t>& slots = slots_of(m, kind);
      RC_PRE(std::find(slots.begin(), slots.end(), slot) != slots.end());
    }
  }

  void apply(GenModel& m) const override {
    if (binds == Binds::None) return;
    uint8_t slot = m.next_slot++;
    switch (binds) {
      case Binds::Ctl:
        m.ctl_fds.push_back(slot);
        break;
      case Binds::Index:
        m.indices.push_back(slot);
        break;
      case Binds::DevFd:
        m.dev_fds.push_back(slot);
        break;
      case Binds::FileFd:
        m.file_fds.push_back(slot);
        break;
      case Binds::None:
        break;
    }
  }

  void run(const GenModel&, Sut& sut) const override {
    sut.trace.stmts.push_back(stmt);
    StepResult r = sut.lockstep->step(stmt, false);
    if (r.verdict == StepVerdict::Diverged) {
      RC_FAIL(fmt::format("divergence at `{}`: {}\n--- minimal trace so far ---\n{}",
                          print_statement(sut.trace, stmt), r.detail, print_trace(sut.trace)));
    }
  }

  void show(std::ostream& os) const override {
    static const Trace names = base_trace();
    os << print_statement(names, stmt);
  }
};

void check_profile(const model::Profile& profile) {
  const bool ok =
      rc::check(std::string("model and inproc agree on ") + std::string(profile.name), [&profile] {
        Trace t = base_trace();
        t.profile = std::string(profile.name);
        GenModel initial;
        Sut sut(profile, t);
        rc::state::check(initial, sut, rc::state::gen::execOneOfWithArgs<StepCmd>());
      });
  EXPECT_TRUE(ok) << "see the shrunk command sequence above";
}

TEST(DiffModelInproc, Linux61) {
  check_profile(model::kLinux61);
}
TEST(DiffModelInproc, Linux612) {
  check_profile(model::kLinux612);
}
TEST(DiffModelInproc, Linux618) {
  check_profile(model::kLinux618);
}

}  // namespace
}  // namespace loopcheck
