// Properties over random op sequences: every reachable state satisfies the
// invariants, and step() is deterministic (same sequence → same states, outcomes).
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <vector>

#include "model/model.h"
#include "trace/ops.h"

namespace loopcheck::model {
namespace {

// A small domain so that sequences collide on the same fds and devices.
rc::Gen<Op> gen_op() {
  using namespace rc;
  auto fd = gen::map(gen::inRange<uint64_t>(2, 9), [](uint64_t v) { return Value::literal(v); });
  auto dev = gen::map(gen::inRange<uint64_t>(0, 3), [](uint64_t v) { return Value::literal(v); });
  auto access = gen::element(Access::Ro, Access::Wo, Access::Rw);
  auto flags = gen::element<uint8_t>(0, kOpenExcl, kOpenDirect);
  auto off = gen::element<int64_t>(-1, 0, 512, 4096, 60000, 65536);
  auto len = gen::element<uint64_t>(0, 100, 512, 4096, 8192);
  auto req = gen::element(Req::LoopSetFd, Req::LoopClrFd, Req::LoopSetStatus64,
                          Req::LoopGetStatus64, Req::LoopSetStatus, Req::LoopChangeFd,
                          Req::LoopSetCapacity, Req::LoopSetDirectIo, Req::LoopSetBlockSize,
                          Req::LoopCtlAdd, Req::LoopCtlRemove, Req::LoopCtlGetFree,
                          Req::BlkGetSize64, Req::BlkRoSet, Req::BlkFlsBuf, Req::LoopConfigure);
  auto num = gen::element<uint64_t>(0, 1, 3, 4, 5, 512, 4096, 1000);
  return gen::oneOf(
      gen::apply([](Value d, Access a, uint8_t f) { return op_open_loop(d, a, f); }, dev, access,
                 flags),
      gen::apply([](uint8_t o, Access a, uint8_t f) { return op_open_file(o, a, f); },
                 gen::inRange<uint8_t>(0, 2), access, flags),
      gen::just(op_open_dir(2)), gen::just(op_open_loop_control()),
      gen::map(fd, [](Value v) { return op_close(v); }),
      gen::apply(
          [](Value f, Req r, uint64_t n, uint8_t fl, int64_t o) {
            if (r == Req::LoopSetStatus64 || r == Req::LoopSetStatus || r == Req::LoopConfigure ||
                r == Req::LoopGetStatus64) {
              StructFields s;
              s.set(Field::Fd, Value::literal(n));
              s.set(Field::Offset, Value::literal(o < 0 ? 0 : static_cast<uint64_t>(o)));
              s.set(Field::Flags, Value::literal(fl == kOpenExcl     ? uint64_t{kLoAutoclear}
                                                 : fl == kOpenDirect ? uint64_t{kLoReadOnly}
                                                                     : uint64_t{0}));
              return op_ioctl_struct(f, r, s);
            }
            return op_ioctl(f, r, Value::literal(n));
          },
          fd, req, num, flags, off),
      gen::apply([](Value f, int64_t o, uint64_t l) { return op_pread(f, o, l); }, fd, off, len),
      gen::apply([](Value f, int64_t o, uint64_t l, uint32_t s) { return op_pwrite(f, o, l, s); },
                 fd, off, len, gen::inRange<uint32_t>(1, 4)),
      gen::map(fd, [](Value v) { return op_fsync(v); }),
      gen::apply([](uint8_t o, uint64_t n) { return op_truncate(o, n); },
                 gen::inRange<uint8_t>(0, 2), gen::element<uint64_t>(0, 4096, 65536)),
      gen::apply(
          [](Value d, SysAttr a) { return op_sysfs(d, a); }, dev,
          gen::element(SysAttr::Size, SysAttr::Ro, SysAttr::LoopBackingFile, SysAttr::LoopDio)));
}

std::vector<ObjectDecl> objects() {
  return {ObjectDecl{ObjectDecl::Kind::File, "a", 64 << 10, 0, {}},
          ObjectDecl{ObjectDecl::Kind::File, "b", 64 << 10, 0x11, {}},
          ObjectDecl{ObjectDecl::Kind::Dir, "d", 0, 0, {}}};
}

void check_profile(const Profile& p) {
  Env env;
  env.precreated = 2;
  const auto ops = *rc::gen::container<std::vector<Op>>(gen_op());
  const auto objs = objects();
  State a = initial_state(p, env, objs);
  State b = initial_state(p, env, objs);
  for (const Op& op : ops) {
    Outcome oa = step(a, p, env, op);
    Outcome ob = step(b, p, env, op);
    std::string why;
    RC_ASSERT(check_invariants(a, p, env, &why));
    RC_ASSERT(a == b);
    RC_ASSERT(hash_state(a) == hash_state(b));
    RC_ASSERT(oa.kind == ob.kind && oa.value == ob.value && oa.err == ob.err &&
              oa.data == ob.data && oa.status == ob.status && oa.text == ob.text &&
              oa.data_known == ob.data_known);
  }
}

RC_GTEST_PROP(ModelProperty, InvariantsAndDeterminism61, ()) {
  check_profile(kLinux61);
}
RC_GTEST_PROP(ModelProperty, InvariantsAndDeterminism612, ()) {
  check_profile(kLinux612);
}
RC_GTEST_PROP(ModelProperty, InvariantsAndDeterminism618, ()) {
  check_profile(kLinux618);
}

}  // namespace
}  // namespace loopcheck::model
