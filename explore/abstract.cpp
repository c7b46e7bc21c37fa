// abstract_class (see explore_abstract.h).
#include "explore/abstract.h"

#include "explore/scope.h"

namespace loopcheck::model {

namespace {
constexpr uint64_t kExists = 1;
constexpr int kStateShift = 1;    // 2 bits
constexpr int kOpenersShift = 3;  // 2 bits: 0, 1, 2 = two or more
constexpr uint64_t kAutoclear = 1 << 5;
constexpr uint64_t kReadOnly = 1 << 6;
constexpr uint64_t kLoopBacking = 1 << 7;
}  // namespace

AbstractClass abstract_class(const State& s) {
  AbstractClass c = 0;
  const int n =
      s.device_count < static_cast<int>(kMaxScopeDevices) ? s.device_count : kMaxScopeDevices;
  for (int i = 0; i < n; ++i) {
    const Device& d = s.devices[i];
    uint64_t openers = 0;
    for (const Desc& x : s.descs)
      if (x.kind == DescKind::Loop && x.device == d.index) ++openers;
    uint64_t bits = kExists | (static_cast<uint64_t>(d.state) << kStateShift) |
                    ((openers > 2 ? 2 : openers) << kOpenersShift);
    if (d.flags & kLoAutoclear) bits |= kAutoclear;
    if (d.flags & kLoReadOnly) bits |= kReadOnly;
    if (d.state != DevState::Unbound && d.backing_desc < kMaxDescs &&
        s.descs[d.backing_desc].kind == DescKind::Loop)
      bits |= kLoopBacking;
    c |= bits << (8 * i);
  }
  return c;
}

std::string abstract_class_name(AbstractClass c) {
  if (c == 0) return "none";
  std::string out;
  for (int i = 0; i < static_cast<int>(kMaxScopeDevices); ++i) {
    const uint64_t bits = (c >> (8 * i)) & 0xff;
    if (!(bits & kExists)) break;
    if (!out.empty()) out += ", ";
    static constexpr const char kState[] = {'U', 'B', 'R', '?'};
    out += kState[(bits >> kStateShift) & 3];
    const uint64_t openers = (bits >> kOpenersShift) & 3;
    out += openers >= 2 ? "2+" : std::to_string(openers);
    if (bits & kAutoclear) out += " ac";
    if (bits & kReadOnly) out += " ro";
    if (bits & kLoopBacking) out += " loop";
  }
  return out;
}

}  // namespace loopcheck::model
