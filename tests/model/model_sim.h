// Test support for model_*_test.cpp: runs literal Ops on the model and checks
// every invariant after every step, so each test exercises the invariants too.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "model/model.h"
#include "trace/ops.h"

namespace loopcheck::model {

inline Value L(uint64_t v) {
  return Value::literal(v);
}

struct ModelSim {
  const Profile& p;
  Env env;
  std::vector<ObjectDecl> objects;
  State s;

  ModelSim(const Profile& profile, std::vector<ObjectDecl> objs, Env e = Env{})
      : p(profile), env(e), objects(std::move(objs)), s(initial_state(profile, env, objects)) {}

  Outcome run(const Op& op) {
    Outcome o = step(s, p, env, op);
    std::string why;
    EXPECT_TRUE(check_invariants(s, p, env, &why)) << why << "\n" << summarize(s);
    return o;
  }
  int64_t ok(const Op& op) {
    Outcome o = run(op);
    EXPECT_EQ(o.kind, Outcome::Kind::Value) << "errno " << o.err;
    return o.value;
  }
  int err(const Op& op) {
    Outcome o = run(op);
    EXPECT_EQ(o.kind, Outcome::Kind::Error) << "value " << o.value;
    return o.err;
  }
  // A sysfs value, or "E<errno>".
  std::string sysfs(uint32_t dev, SysAttr a) {
    Outcome o = run(op_sysfs(L(dev), a));
    if (o.kind == Outcome::Kind::Error) return "E" + std::to_string(o.err);
    return std::string(o.text_view());
  }
};

inline ObjectDecl file_object(std::string name, uint64_t size, uint8_t fill = 0) {
  return ObjectDecl{ObjectDecl::Kind::File, std::move(name), size, fill, {}};
}
inline ObjectDecl dir_object(std::string name) {
  return ObjectDecl{ObjectDecl::Kind::Dir, std::move(name), 0, 0, {}};
}

}  // namespace loopcheck::model
