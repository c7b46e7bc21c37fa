// build_suite, write_suite, literal_trace (see explore_suite.h).
#include "explore/suite.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <tuple>

#include "model/model.h"
#include "trace/ops.h"
#include "trace/print.h"
#include "trace/validate.h"
#include "trace/classify.h"

namespace loopcheck::model {

namespace {

using Triple = std::tuple<AbstractClass, int, int>;  // (class before, label, outcome class)

Trace empty_trace(const ExploreOptions& options) {
  Trace t;
  t.profile = std::string(options.profile->name);
  t.env = scope_env();
  t.env_given = 1u << static_cast<int>(EnvKey::Precreated);
  t.objects = scope_objects(options.scope);
  return t;
}

// The model's outcome as an expectation. Status results drop the identity fields
// (st_dev, st_ino, rdev): they name things that differ between machines.
Expectation expect_from(const Outcome& o) {
  Expectation e = expectation_with_envelope_from(o);
  for (int i = 0; i < e.count; ++i) {
    ExpectAlt& alt = e.alt[i];
    if (alt.kind != ExpectAlt::Kind::Status) continue;
    for (Field f : {Field::Device, Field::Inode, Field::Rdevice})
      alt.fields.present = static_cast<uint16_t>(alt.fields.present & ~field_bit(f));
  }
  return e;
}

// Writes a path with variables instead of numbers, running the model beside it so
// the cleanup can be derived from the state the trace ends in.
class VariableTraceWriter {
 public:
  VariableTraceWriter(const ExploreOptions& options, Trace& trace)
      : options_(options),
        env_(scope_env()),
        trace_(trace),
        state_(initial_state(*options.profile, env_, trace.objects)) {}

  // Emits the literal `op` (as the model ran it) in variable form.
  void emit(const Op& literal) {
    Op op = literal;
    const bool opens = op.kind == OpKind::Open;
    if (opens && op.node == Node::Loop) op.subject = device_var(op.subject);
    if (!opens) op.subject = fd_var(op.subject);
    if (op.kind == OpKind::Ioctl) {
      if (op.req == Req::LoopSetFd || op.req == Req::LoopChangeFd) op.arg = fd_var(op.arg);
      if ((op.req == Req::LoopCtlAdd || op.req == Req::LoopCtlRemove) && !op.arg.negative)
        op.arg = device_var(op.arg);
      if (op.req == Req::LoopConfigure && op.fields.has(Field::Fd)) {
        Value& fd = op.fields.value[static_cast<int>(Field::Fd)];
        fd = fd_var(fd);
      }
    }
    const Outcome out = step(state_, *options_.profile, env_, literal);
    Statement s;
    s.op = op;
    s.pos = SourcePos{static_cast<uint32_t>(trace_.stmts.size() + 1), 1};
    const bool ok = out.kind == Outcome::Kind::Value;
    if (ok && opens) {
      s.bind = new_var(op.node == Node::LoopControl ? "ctl"
                       : op.node == Node::Loop      ? "dev"
                                                    : "file");
      fd_vars_[static_cast<uint64_t>(out.value)] = static_cast<uint8_t>(s.bind);
    } else if (ok && op.kind == OpKind::Ioctl && op.req == Req::LoopCtlAdd) {
      s.bind = new_var("n");
      dev_vars_[static_cast<uint64_t>(out.value)] = static_cast<uint8_t>(s.bind);
    } else {
      s.expect = expect_from(out);
    }
    trace_.stmts.push_back(s);
    // The explorer reads the uevents after every step (explore/codec.h): the
    // trace shows that read wherever a step sent some.
    const bool sent = state_.uevents.count > 0 || state_.uevents.lost;
    if (op.kind != OpKind::Uevents && sent) emit(op_uevents());
  }

  // Puts everything back; false (and *error) if the model does not end clean.
  bool cleanup(std::string* error) {
    // Stacked devices release their lower device only when torn down, so clear
    // from the top and close, and repeat until nothing is bound.
    for (uint32_t round = 0; round <= kMaxScopeDevices && (round == 0 || attached()); ++round) {
      for (int i = state_.device_count - 1; i >= 0; --i) {
        const Device dev = state_.devices[i];
        if (dev.state != DevState::Bound || used_as_backing(dev.index)) continue;
        emit(op_ioctl_noarg(Value::literal(fd_on(dev.index)), Req::LoopClrFd));
      }
      for (int i = 0; i < kMaxDescs; ++i) {
        const Desc d = state_.descs[i];
        if (d.kind != DescKind::None && d.kind != DescKind::LoopControl && d.fd != 0)
          emit(op_close(Value::literal(d.fd)));
      }
    }
    if (state_.device_count > 0) {
      const uint32_t ctl = control_fd();
      while (state_.device_count > 0) {
        const uint32_t before = state_.device_count;
        emit(op_ioctl(Value::literal(ctl), Req::LoopCtlRemove,
                      Value::literal(state_.devices[0].index)));
        if (state_.device_count == before) {
          *error = "cleanup: LOOP_CTL_REMOVE failed in the model:\n" + summarize(state_);
          return false;
        }
      }
    }
    for (int i = 0; i < kMaxDescs; ++i)
      if (state_.descs[i].kind == DescKind::LoopControl && state_.descs[i].fd != 0)
        emit(op_close(Value::literal(state_.descs[i].fd)));
    if (state_.device_count != 0 ||
        std::any_of(state_.descs.begin(), state_.descs.end(),
                    [](const Desc& d) { return d.kind != DescKind::None; })) {
      *error = "cleanup left state behind:\n" + summarize(state_);
      return false;
    }
    return true;
  }

 private:
  int16_t new_var(const char* prefix) {
    const auto slot = static_cast<int16_t>(trace_.vars.size());
    std::string name(prefix);
    name += std::to_string(++counter_[prefix]);
    trace_.vars.push_back(std::move(name));
    return slot;
  }
  Value fd_var(Value v) {
    auto it = fd_vars_.find(v.lit);
    return it == fd_vars_.end() ? v : Value::variable(it->second);
  }
  Value device_var(Value v) {
    auto it = dev_vars_.find(v.lit);
    return it == dev_vars_.end() ? v : Value::variable(it->second);
  }
  bool attached() const {
    for (int i = 0; i < state_.device_count; ++i)
      if (state_.devices[i].state != DevState::Unbound) return true;
    return false;
  }
  bool used_as_backing(uint32_t index) const {
    for (int i = 0; i < state_.device_count; ++i) {
      const Device& d = state_.devices[i];
      if (d.state != DevState::Unbound && d.backing_desc < kMaxDescs &&
          state_.descs[d.backing_desc].kind == DescKind::Loop &&
          state_.descs[d.backing_desc].device == index)
        return true;
    }
    return false;
  }
  // An open fd on the device, opening one when there is none.
  uint32_t fd_on(uint32_t index) {
    for (const Desc& d : state_.descs)
      if (d.kind == DescKind::Loop && d.device == index && d.fd != 0) return d.fd;
    emit(op_open_loop(Value::literal(index), Access::Rw));
    return last_fd();
  }
  uint32_t control_fd() {
    for (const Desc& d : state_.descs)
      if (d.kind == DescKind::LoopControl && d.fd != 0) return d.fd;
    emit(op_open_loop_control(Access::Rw));
    return last_fd();
  }
  uint32_t last_fd() const {
    uint32_t best = 0;
    for (const auto& [fd, slot] : fd_vars_)
      if (slot == trace_.stmts.back().bind) best = static_cast<uint32_t>(fd);
    return best;
  }

  const ExploreOptions& options_;
  Env env_;
  Trace& trace_;
  State state_;
  std::map<uint64_t, uint8_t> fd_vars_, dev_vars_;
  std::map<std::string, int> counter_;
};

std::string slug(std::string s) {
  for (char& c : s)
    c = std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::tolower(c)) : '_';
  return s;
}

std::string describe(const Triple& t) {
  std::string s = "[";
  s += abstract_class_name(std::get<0>(t));
  s += "] ";
  s += op_label_name(std::get<1>(t));
  s += " => ";
  s += errno_class_name(std::get<2>(t));
  return s;
}

}  // namespace

std::vector<SuiteTrace> build_suite(const ExploreOptions& options, const ExploreResult& result,
                                    std::string* error) {
  // The BFS-first witness of every triple.
  std::map<Triple, Witness> first;
  for (const auto& [key, wit] : result.edges) {
    const Triple t{key.pre, key.label, key.outcome};
    auto [it, added] = first.try_emplace(t, wit);
    if (!added && std::tie(wit.parent, wit.op) < std::tie(it->second.parent, it->second.op))
      it->second = wit;
  }
  // Deepest first: a long path also covers the triples along it.
  std::vector<std::pair<Triple, Witness>> order(first.begin(), first.end());
  std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
    return std::tie(b.second.depth, a.second.parent, a.second.op) <
           std::tie(a.second.depth, b.second.parent, b.second.op);
  });

  std::set<Triple> covered;
  std::vector<SuiteTrace> suite;
  for (const auto& [triple, wit] : order) {
    if (covered.count(triple)) continue;
    const ConcretePath path = explore_path(options, result, wit.parent, wit.op);
    SuiteTrace st;
    for (size_t i = 0; i < path.ops.size(); ++i) {
      const Triple t{path.before[i], op_label(path.ops[i]), errno_class(path.outcomes[i])};
      if (covered.insert(t).second) st.covers.push_back(describe(t));
    }
    st.trace = empty_trace(options);
    VariableTraceWriter writer(options, st.trace);
    for (const Op& op : path.ops) writer.emit(op);
    if (!writer.cleanup(error)) return suite;
    char number[16];
    std::snprintf(number, sizeof number, "%04zu", suite.size() + 1);
    st.name = number;
    st.name += '-';
    st.name += slug(op_label_name(std::get<1>(triple)));
    st.name += '-';
    st.name += slug(errno_class_name(std::get<2>(triple)));
    st.name += ".trace";
    st.trace.source = st.name;
    LOOPCHECK_VALIDATE(st.trace, "the explorer's suite writer");
    suite.push_back(std::move(st));
  }
  return suite;
}

bool write_suite(const std::vector<SuiteTrace>& suite, const std::string& dir, std::string* error) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    *error = dir + ": cannot create: " + ec.message();
    return false;
  }
  std::vector<fs::path> stale;
  for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
    if (e.path().extension() != ".trace") continue;
    std::ifstream in(e.path());
    std::string first;
    std::getline(in, first);
    if (first.rfind("# loopcheck explore", 0) == 0) stale.push_back(e.path());
  }
  for (const fs::path& p : stale) fs::remove(p, ec);
  for (const SuiteTrace& st : suite) {
    const fs::path path = fs::path(dir) / st.name;
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << "# loopcheck explore: generated, do not edit (docs/explorer.md)\n";
    for (const std::string& c : st.covers) out << "# covers " << c << "\n";
    out << print_trace(st.trace);
    if (!out.flush()) {
      *error = path.string() + ": write failed";
      return false;
    }
  }
  return true;
}

Trace literal_trace(const ExploreOptions& options, const ConcretePath& path) {
  Trace t = empty_trace(options);
  for (size_t i = 0; i < path.ops.size(); ++i) {
    Statement s;
    s.op = path.ops[i];
    s.pos = SourcePos{static_cast<uint32_t>(i + 1), 1};
    s.expect.count = 1;
    s.expect.alt[0] = expectation_from(path.outcomes[i]);
    t.stmts.push_back(s);
  }
  return t;
}

}  // namespace loopcheck::model
